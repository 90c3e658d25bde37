"""The probe's new views, checked against the model's own forward pass: the space a hidden
layer makes of the input plane, dense weights as pictures, misclassified examples."""

from __future__ import annotations

import numpy as np

from tuidl.presets import preset
from tuidl.probe import CHECKED, LINE_POINTS, SPACE_LINES, Probe, class_probabilities
from tuidl.session.messages import ShowView
from tuidl.trainer import Trainer


def spiral():
    return Trainer(preset("spiral-mlp").with_overrides(["data.n=200"]))


def test_space_maps_the_plane_and_the_points_through_the_chosen_layer():
    trainer = spiral()
    probe = Probe(trainer.dataset)
    space = probe.take(trainer, "run").space
    model = trainer.model
    hidden = model.layers[:-1]  # dense, tanh, dense, tanh: all 32 wide
    assert (space.name, space.index, space.count, space.width) == (hidden[-1].name, 3, 4, 32)
    assert space.lines.shape == (2 * SPACE_LINES, LINE_POINTS, 2)
    # the first vertical line runs along the left edge of the plane, bottom to top
    x0, x1, y0, y1 = probe.extent
    plane = probe.lines[0]
    np.testing.assert_allclose(plane[:, 0], x0, rtol=1e-6)
    np.testing.assert_allclose(plane[[0, -1], 1], [y0, y1], rtol=1e-5)
    mapped = model.forward_to(plane, hidden[-1])[:, [0, 1]]
    np.testing.assert_allclose(space.lines[0], mapped, rtol=1e-5, atol=1e-6)
    points = model.forward_to(probe.points, hidden[-1])[:, [0, 1]]
    np.testing.assert_allclose(space.points, points, rtol=1e-5, atol=1e-6)
    probe.choose(ShowView(layer=1, units=31))  # wraps: the first layer, units 31 and 0
    space = probe.take(trainer, "run").space
    assert (space.name, space.units) == (hidden[0].name, (31, 0))


def test_dense_weights_on_images_are_one_picture_per_unit():
    trainer = Trainer(preset("digits-dbn"))
    filters = Probe(trainer.dataset).take(trainer, "run").filters
    rbm = trainer.model.layers[1]
    assert filters.name == rbm.name and filters.W.shape == (rbm.output_shape[0], 1, 8, 8)
    assert filters.per_unit
    unit = 5
    np.testing.assert_array_equal(filters.W[unit].ravel(), rbm.params["W"][:, unit])


def test_misclassified_examples_are_wrong_with_their_top_classes():
    trainer = Trainer(preset("digits-dbn"))
    probe = Probe(trainer.dataset)
    x, y = trainer.dataset.x_val[:CHECKED], trainer.dataset.y_val[:CHECKED]
    probs = class_probabilities(trainer.model, x)
    wrong = np.flatnonzero(probs.argmax(axis=1) != y)
    assert len(wrong) > 2
    probe.choose(ShowView(wrong=2))
    shown = probe.take(trainer, "run").wrong
    index = wrong[2]
    assert (shown.index, shown.total, shown.true) == (2, len(wrong), int(y[index]))
    np.testing.assert_array_equal(shown.image, x[index])
    classes = [k for k, _ in shown.top]
    assert classes[0] == probs[index].argmax() != shown.true and len(classes) == 3
    assert [p for _, p in shown.top] == sorted((p for _, p in shown.top), reverse=True)
    probe.choose(ShowView(wrong=len(wrong) - 2))  # wraps round to the first
    assert probe.take(trainer, "run").wrong.index == 0
