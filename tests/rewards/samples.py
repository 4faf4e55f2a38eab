"""Hand-made SVGs shared by the reward tests."""

from rlrf.config import RenderConfig

SIZE = 64
RENDER = RenderConfig(timeout_s=2.0, workers=2)

GT = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
    '<rect x="10" y="10" width="50" height="50" fill="#cc3333"/>'
    '<circle cx="70" cy="70" r="20" fill="#3333cc"/></svg>'
)
SHIFTED = GT.replace('x="10" y="10"', 'x="35" y="30"')
RECOLOURED = GT.replace("#cc3333", "#33cc33").replace("#3333cc", "#cccc33")
TINY_VIEWBOX = GT.replace('viewBox="0 0 100 100"', 'viewBox="0 0 1 1"')
BLANK = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"></svg>'
RASTER = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><image width="100" height="100" '
    'href="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AA'
    'AAMBAQDJ/pLvAAAAAElFTkSuQmCC"/></svg>'
)
# A thin-line glyph: about 0.7 % ink at 512 px, a real drawing (not blank).
SPARSE = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
    '<path d="M20 30 L80 30 M50 30 L50 85" stroke="#000" stroke-width="0.5" fill="none"/></svg>'
)
# GT cut at the length budget, inside its last element: no </svg>.
TRUNCATED = GT[: GT.index("<circle") + len('<circle cx="70"')]
