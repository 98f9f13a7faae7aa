"""Fine-tuning and evaluation: training loops, checkpoints and evaluation metrics."""
