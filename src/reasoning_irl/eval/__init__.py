"""Evaluation: metrics, reranking, calibration, error localisation and bootstrap intervals."""
