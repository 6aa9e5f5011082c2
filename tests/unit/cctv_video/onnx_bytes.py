"""Build a tiny ONNX model by hand (the `onnx` package is not installed): protobuf is a
simple wire format, and a model that ignores its image and returns a fixed YOLO head is
enough to test `OnnxDetector` end to end through onnxruntime."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FLOAT = 1


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, value: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(value)) + value


def _str(field: int, value: str) -> bytes:
    return _bytes(field, value.encode())


def _tensor(name: str, array: npt.NDArray[np.float32]) -> bytes:
    dims = b"".join(_int(1, d) for d in array.shape)
    return dims + _int(2, FLOAT) + _str(8, name) + _bytes(9, array.astype("<f4").tobytes())


def _value_info(name: str, shape: tuple[int, ...]) -> bytes:
    dims = b"".join(_bytes(1, _int(1, d)) for d in shape)
    tensor_type = _int(1, FLOAT) + _bytes(2, dims)
    return _str(1, name) + _bytes(2, _bytes(1, tensor_type))


def _node(op: str, inputs: list[str], outputs: list[str], attrs: bytes = b"") -> bytes:
    return b"".join(_str(1, i) for i in inputs) + b"".join(_str(2, o) for o in outputs) + _str(4, op) + attrs


def _int_attr(name: str, value: int) -> bytes:
    return _bytes(5, _str(1, name) + _int(3, value) + _int(20, 2))  # type INT = 2


def constant_yolo_model(prediction: npt.NDArray[np.float32], input_size: int) -> bytes:
    """An ONNX model: images [1,3,S,S] → output = prediction + 0·sum(images)."""
    zero = np.zeros((), np.float32)
    graph = (
        _bytes(1, _node("Mul", ["images", "zero"], ["m"]))
        + _bytes(1, _node("ReduceSum", ["m"], ["s"], _int_attr("keepdims", 0)))
        + _bytes(1, _node("Add", ["pred", "s"], ["output"]))
        + _str(2, "constant_yolo")
        + _bytes(5, _tensor("zero", zero))
        + _bytes(5, _tensor("pred", prediction))
        + _bytes(11, _value_info("images", (1, 3, input_size, input_size)))
        + _bytes(12, _value_info("output", tuple(prediction.shape)))
    )
    opset = _str(1, "") + _int(2, 13)
    return _int(1, 8) + _str(2, "khusela-test") + _bytes(7, graph) + _bytes(8, opset)
