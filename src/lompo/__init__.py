"""lompo: offline reinforcement learning from images (LOMPO and the V-D4RL protocol)."""

__version__ = "0.1.0"
