"""Tiny random-init models built from config, shared by tests. They prove code paths
(loading, batching, scoring plumbing); their scores are never results."""

import torch


def tiny_dino(hidden_layers: int = 2):
    from transformers import BitImageProcessor, Dinov2Config, Dinov2Model

    from rlrf.scores import learned as L

    torch.manual_seed(0)
    cfg = Dinov2Config(hidden_size=32, num_hidden_layers=hidden_layers, num_attention_heads=2,
                       intermediate_size=64, image_size=56, patch_size=14)
    processor = BitImageProcessor(size={"shortest_edge": 64}, crop_size={"height": 56, "width": 56},
                                  image_mean=list(L.IMAGENET_MEAN), image_std=list(L.IMAGENET_STD))
    return L.DinoScorer(Dinov2Model(cfg), processor, batch_size=2)


def tiny_clip(tokenizer):
    """(CLIPModel, CLIPProcessor) with the given tokenizer, in the reward loader's return shape."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    torch.manual_seed(0)
    cfg = CLIPConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 64},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                       "num_attention_heads": 2, "image_size": 32, "patch_size": 8},
        projection_dim=16,
    )
    processor = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size=32),
                              tokenizer=tokenizer)
    return CLIPModel(cfg).eval(), processor
