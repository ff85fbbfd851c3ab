"""Losses against values computed by hand (math module, not torch) on small examples."""

import math

import pytest
import torch

from reasoning_irl.rewards.losses import (
    balanced_coefficients,
    bradley_terry,
    class_balanced_bce,
    gradient_penalty,
    wgan_critic_loss,
)


def _bce(z: float, t: float) -> float:
    s = 1 / (1 + math.exp(-z))
    return -(t * math.log(s) + (1 - t) * math.log(1 - s))


def test_class_balanced_bce_matches_hand_value():
    logits = torch.tensor([2.0, -1.0, 0.5, 1.5])
    labels = torch.tensor([1.0, 0.0, 0.0, 1.0])
    weights = torch.tensor([1.0, 0.5, 0.5, 0.25])
    eps = 0.1
    pos = (1.0 * _bce(2.0, 0.9) + 0.25 * _bce(1.5, 0.9)) / 1.25
    neg = (0.5 * _bce(-1.0, 0.1) + 0.5 * _bce(0.5, 0.1)) / 1.0
    assert float(class_balanced_bce(logits, labels, weights, eps)) == pytest.approx(0.5 * pos + 0.5 * neg, rel=1e-6)


def test_bce_with_one_class_uses_that_class_alone():
    logits, labels, weights = torch.tensor([0.3, -0.2]), torch.tensor([0.0, 0.0]), torch.tensor([0.5, 0.5])
    expected = 0.5 * _bce(0.3, 0.0) + 0.5 * _bce(-0.2, 0.0)
    assert float(class_balanced_bce(logits, labels, weights)) == pytest.approx(expected, rel=1e-6)


def test_micro_batches_with_batch_coefficients_sum_to_the_batch_loss():
    torch.manual_seed(0)
    logits, labels = torch.randn(7), torch.tensor([1, 0, 1, 1, 0, 0, 1.0])
    weights = torch.rand(7) + 0.1
    full = class_balanced_bce(logits, labels, weights, 0.1)
    c = balanced_coefficients(labels, weights)
    parts = class_balanced_bce(logits[:3], labels[:3], weights[:3], 0.1, c[:3]) + class_balanced_bce(
        logits[3:], labels[3:], weights[3:], 0.1, c[3:]
    )
    assert float(parts) == pytest.approx(float(full), rel=1e-6)


def test_wgan_loss_matches_hand_value():
    logits = torch.tensor([2.0, -1.0, 0.5, 1.5])
    labels = torch.tensor([1.0, 0.0, 0.0, 1.0])
    weights = torch.tensor([1.0, 0.5, 0.5, 0.25])
    expected = (0.5 * -1.0 + 0.5 * 0.5) / 1.0 - (1.0 * 2.0 + 0.25 * 1.5) / 1.25
    assert float(wgan_critic_loss(logits, labels, weights)) == pytest.approx(expected, rel=1e-6)


def test_gradient_penalty_value_and_that_it_changes_gradients():
    w = torch.tensor([3.0, 4.0], requires_grad=True)  # critic f(x) = w·x, so ‖∇_x f‖ = ‖w‖ = 5
    x = torch.tensor([[1.0, 2.0], [0.5, -1.0]], requires_grad=True)
    penalty = gradient_penalty(x @ w, x, coefficient=10.0)
    assert float(penalty) == pytest.approx(10.0 * (5.0 - 1.0) ** 2)
    penalty.backward()
    # d/dw 10·(‖w‖ − 1)² = 20·(‖w‖ − 1)·w/‖w‖ = 16·w
    assert torch.allclose(w.grad, 16.0 * torch.tensor([3.0, 4.0]))


def test_bradley_terry_hand_value_and_it_falls_as_the_margin_between_scores_grows():
    expert, negative = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.5])
    expected = 0.5 * (math.log1p(math.exp(-(1.0 - 0.0 - 0.2))) + math.log1p(math.exp(-(0.0 - 0.5 - 0.2))))
    assert float(bradley_terry(expert, negative, margin=0.2)) == pytest.approx(expected, rel=1e-6)
    losses = [float(bradley_terry(torch.tensor([d]), torch.tensor([0.0]), margin=0.5)) for d in (-2, -1, 0, 1, 2, 4)]
    assert all(a > b for a, b in zip(losses, losses[1:]))
    # the margin m asks for more: the same gap costs more with a larger margin
    assert float(bradley_terry(expert, negative, 1.0)) > float(bradley_terry(expert, negative, 0.0))


def test_loss_input_errors_are_clear():
    with pytest.raises(ValueError, match="one shape"):
        class_balanced_bce(torch.zeros(2), torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match="no labelled position"):
        wgan_critic_loss(torch.zeros(0), torch.zeros(0), torch.zeros(0))
    with pytest.raises(ValueError, match="pair"):
        bradley_terry(torch.zeros(0), torch.zeros(0))
