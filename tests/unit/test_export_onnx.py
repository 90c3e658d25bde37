"""Each layer kind as ONNX against tuidl's own forward pass, run by onnxruntime.

Random weights (biases, running statistics and PReLU slopes too, so none is left at its
trivial initial value) and random inputs, seeded per case and printed on failure; odd and
non-square sizes, stride 2, 'same' with an even kernel, batch 1.
"""

from __future__ import annotations

import numpy as np
import pytest

from tuidl.datasets.normalize import fit_normalizer
from tuidl.errors import ConfigError
from tuidl.model import Sequential
from tuidl.presets import resolve_experiment

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from tuidl.export.onnxgraph import IR_VERSION, OPSET, onnx_model  # noqa: E402

# float32 forward passes of a few layers, computed in another order by onnxruntime: the
# largest difference measured on these cases is 2.4e-7
ONNX_ATOL = 1e-4

CASES = {
    "dense-tanh": ((5,), "softmax_cross_entropy", [
        {"type": "dense", "units": 7}, {"type": "tanh"}, {"type": "dense", "units": 3},
    ]),
    "conv-same-even-kernel-stride2": ((2, 9, 7), "softmax_cross_entropy", [
        {"type": "conv2d", "filters": 3, "kernel": 4, "stride": 2, "padding": "same"},
        {"type": "relu"}, {"type": "maxpool2d", "size": 2, "stride": 1},
        {"type": "flatten"}, {"type": "dense", "units": 4},
    ]),
    "conv-same-even-kernel": ((1, 8, 8), "mse", [
        {"type": "conv2d", "filters": 2, "kernel": 2, "padding": "same"},
        {"type": "flatten"},
    ]),
    "conv-int-pad-rect-avgpool": ((3, 7, 6), "mse", [
        {"type": "conv2d", "filters": 4, "kernel": [3, 2], "padding": 1},
        {"type": "elu", "alpha": 0.7}, {"type": "avgpool2d", "size": 3, "stride": 2},
        {"type": "leaky_relu", "alpha": 0.1}, {"type": "flatten"},
    ]),
    "conv-prelu-batchnorm-maxout": ((2, 6, 5), "softmax_cross_entropy", [
        {"type": "conv2d", "filters": 6, "kernel": 3},
        {"type": "prelu"}, {"type": "batchnorm", "eps": 1e-3},
        {"type": "maxout", "pieces": 2}, {"type": "flatten"}, {"type": "dense", "units": 3},
    ]),
    "dense-batchnorm-prelu-maxout": ((6,), "mse", [
        {"type": "dense", "units": 9}, {"type": "batchnorm"}, {"type": "prelu"},
        {"type": "maxout", "pieces": 3}, {"type": "sigmoid"}, {"type": "dropout", "rate": 0.3},
        {"type": "dense", "units": 2},
    ]),
    "lstm-sequences-then-last": ((5, 3), "softmax_cross_entropy", [
        {"type": "lstm", "units": 6, "return_sequences": True},
        {"type": "dense", "units": 8}, {"type": "batchnorm"}, {"type": "prelu"},
        {"type": "maxout", "pieces": 2},
        {"type": "lstm", "units": 4}, {"type": "dense", "units": 3},
    ]),
    "lstm-sequences-out": ((4, 2), "mse", [
        {"type": "lstm", "units": 3, "return_sequences": True},
    ]),
    "rnn": ((6, 2), "mse", [
        {"type": "rnn", "units": 5, "return_sequences": True}, {"type": "rnn", "units": 3},
        {"type": "dense", "units": 1},
    ]),
    "rbm-sigmoid-output": ((7,), "binary_cross_entropy", [
        {"type": "rbm", "units": 5}, {"type": "rbm", "units": 4}, {"type": "dense", "units": 1},
    ]),
    "softmax-layer-unfused": ((4,), "mse", [
        {"type": "dense", "units": 3}, {"type": "softmax"},
    ]),
    "softmax-layer-fused": ((4,), "softmax_cross_entropy", [
        {"type": "dense", "units": 3}, {"type": "softmax"},
    ]),
}  # fmt: skip


def randomized(specs, input_shape, loss, seed):
    """A built model whose every parameter and running statistic is random."""
    rng = np.random.default_rng(seed)
    model = Sequential.from_config({"loss": loss, "layers": specs})
    model.build(input_shape, rng)
    model.flat_params[...] = rng.normal(0, 0.5, model.flat_params.shape)
    for layer in model.layers:
        for key, value in layer.state().items():
            low = 0.5 if key == "running_var" else -1.0
            value[...] = rng.uniform(low, 1.5, value.shape)
    return model


def onnx_outputs(model, x, normalizer=None):
    proto = onnx_model(model, normalizer, "test")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def tuidl_outputs(model, x):
    return model.loss.probabilities(model.predict(x, logits=True))


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("batch", [1, 5])
def test_layer_kind_matches_tuidl_forward(case, batch, seed):
    input_shape, loss, specs = CASES[case]
    model = randomized(specs, input_shape, loss, seed)
    x = np.random.default_rng(seed + 1).normal(0, 1, (batch, *input_shape)).astype(np.float32)
    got, want = onnx_outputs(model, x), tuidl_outputs(model, x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=ONNX_ATOL, err_msg=f"seed {seed}")


def test_model_declares_opset_and_ir_version():
    input_shape, loss, specs = CASES["dense-tanh"]
    model = randomized(specs, input_shape, loss, 0)
    proto = onnx_model(model, None, "test")
    assert proto.ir_version == IR_VERSION
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", OPSET)]
    ops = [node.op_type for node in proto.graph.node]
    assert ops == ["Gemm", "Tanh", "Gemm", "Softmax", "Identity"]


def test_dropout_leaves_no_node():
    model = randomized(CASES["dense-batchnorm-prelu-maxout"][2], (6,), "mse", 0)
    ops = [node.op_type for node in onnx_model(model, None, "t").graph.node]
    assert "Dropout" not in ops and "BatchNormalization" in ops and "ReduceMax" in ops


@pytest.mark.parametrize(
    "method,layout,shape",
    [
        ("standard", "flat", (4,)),
        ("minmax", "flat", (4,)),
        ("pca-whiten", "flat", (4,)),
        ("standard", "image", (1, 5, 4)),
        ("pca-whiten", "image", (2, 3, 3)),
        ("standard", "sequence", (3, 2)),
        ("pca-whiten", "sequence", (3, 2)),
    ],
)
def test_normalization_runs_inside_the_graph(method, layout, shape):
    rng = np.random.default_rng(3)
    x_train = rng.normal(2.0, 3.0, (200, *shape)).astype(np.float32)
    normalizer = fit_normalizer(method, x_train, layout)
    specs = [{"type": "flatten"}] if len(shape) == 3 else [{"type": "dropout"}]
    model = randomized(specs, shape, "mse", 0)
    x = rng.normal(2.0, 3.0, (6, *shape)).astype(np.float32)
    want = tuidl_outputs(model, normalizer.apply(x))
    np.testing.assert_allclose(onnx_outputs(model, x, normalizer), want, rtol=0, atol=ONNX_ATOL)


def test_surface_layer_is_named_in_one_line():
    experiment = resolve_experiment("surface-bowl")
    model = experiment.make_model()
    model.build((2,), np.random.default_rng(0))
    with pytest.raises(ConfigError, match=r"layer 0 \(surface_0\) cannot be exported") as error:
        onnx_model(model, None, "bowl")
    assert "\n" not in str(error.value)
