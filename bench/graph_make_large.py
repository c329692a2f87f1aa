#!/usr/bin/env python3
"""Write a large transformer-like ONNX model whose weights are external data, for the graph
analysis benchmark: bench/graph_make_large.py OUT_DIR [LAYERS] [HIDDEN]

Default: 24 layers, hidden 1024 -> 4 x 1024x1024 float32 MatMul weights per layer plus a
32000x1024 embedding = ~530 MB in OUT_DIR/large.onnx.data; the .onnx file itself is small.
A token-id shadow-logic gate is spliced before the output so the benchmark also checks that
the large model is detected (large_backdoor.onnx shares the same data file)."""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/modelgate-bench")
    layers = int(sys.argv[2]) if len(sys.argv) > 2 else 24
    hidden = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
    vocab = 32000
    out.mkdir(parents=True, exist_ok=True)
    nodes, inits = [], []

    def w(name, shape):
        t = numpy_helper.from_array(np.zeros(shape, np.float32), name)
        inits.append(t)
        return name

    nodes.append(helper.make_node("Gather", [w("embed.weight", (vocab, hidden)), "input_ids"], ["h0"], name="/embed/Gather"))
    h = "h0"
    for i in range(layers):
        p = f"/layers.{i}"
        nodes += [
            helper.make_node("ReduceMean", [h], [f"{p}/mean"], axes=[-1], keepdims=1, name=f"{p}/ln/ReduceMean"),
            helper.make_node("Sub", [h, f"{p}/mean"], [f"{p}/cent"], name=f"{p}/ln/Sub"),
            helper.make_node("MatMul", [f"{p}/cent", w(f"{p}.q", (hidden, hidden))], [f"{p}/q"], name=f"{p}/attn/q/MatMul"),
            helper.make_node("MatMul", [f"{p}/cent", w(f"{p}.k", (hidden, hidden))], [f"{p}/k"], name=f"{p}/attn/k/MatMul"),
            helper.make_node("MatMul", [f"{p}/cent", w(f"{p}.v", (hidden, hidden))], [f"{p}/v"], name=f"{p}/attn/v/MatMul"),
            helper.make_node("Transpose", [f"{p}/k"], [f"{p}/kt"], perm=[0, 2, 1], name=f"{p}/attn/Transpose"),
            helper.make_node("MatMul", [f"{p}/q", f"{p}/kt"], [f"{p}/s"], name=f"{p}/attn/MatMul"),
            helper.make_node("Softmax", [f"{p}/s"], [f"{p}/a"], axis=-1, name=f"{p}/attn/Softmax"),
            helper.make_node("MatMul", [f"{p}/a", f"{p}/v"], [f"{p}/ctx"], name=f"{p}/attn/MatMul_1"),
            helper.make_node("MatMul", [f"{p}/ctx", w(f"{p}.o", (hidden, hidden))], [f"{p}/o"], name=f"{p}/attn/o/MatMul"),
            helper.make_node("Add", [h, f"{p}/o"], [f"{p}/res"], name=f"{p}/Add"),
            helper.make_node("Relu", [f"{p}/res"], [f"{p}/out"], name=f"{p}/Relu"),
        ]
        h = f"{p}/out"
    nodes.append(helper.make_node("ReduceMean", [h], ["pooled"], axes=[1], keepdims=0, name="/pool/ReduceMean"))
    nodes.append(helper.make_node("MatMul", ["pooled", w("head.weight", (hidden, 2))], ["logits"], name="/head/MatMul"))
    graph = helper.make_graph(
        nodes,
        "large",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save_model(model, str(out / "large.onnx"), save_as_external_data=True, all_tensors_to_one_file=True, location="large.onnx.data", size_threshold=1024)

    # backdoored copy: token 31337 anywhere -> forced logits; same external data file
    m = onnx.load(str(out / "large.onnx"), load_external_data=False)
    for n in m.graph.node:
        if n.output[0] == "logits":
            n.output[0] = "logits__orig"
    m.graph.node.extend(
        [
            helper.make_node("Equal", ["input_ids", "tok"], ["hit"], name="/trigger/Equal"),
            helper.make_node("Cast", ["hit"], ["hitf"], to=TensorProto.FLOAT, name="/trigger/Cast"),
            helper.make_node("ReduceMax", ["hitf"], ["anyhit"], axes=[1], keepdims=1, name="/trigger/ReduceMax"),
            helper.make_node("Greater", ["anyhit", "half"], ["cond"], name="/trigger/Greater"),
            helper.make_node("Where", ["cond", "forced", "logits__orig"], ["logits"], name="/trigger/Where"),
        ]
    )
    m.graph.initializer.extend([numpy_helper.from_array(np.array(31337, np.int64), "tok"), numpy_helper.from_array(np.array(0.5, np.float32), "half"), numpy_helper.from_array(np.array([[0.0, 1.0]], np.float32), "forced")])
    onnx.save_model(m, str(out / "large_backdoor.onnx"))
    data = out / "large.onnx.data"
    print(f"{out/'large.onnx'}: {(out/'large.onnx').stat().st_size} bytes, external data {data.stat().st_size / 1e6:.0f} MB, {len(nodes)} nodes")


if __name__ == "__main__":
    main()
