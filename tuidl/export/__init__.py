"""The trained model outside tuidl: ONNX and npz files, and predictions."""
