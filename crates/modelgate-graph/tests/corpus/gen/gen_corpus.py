#!/usr/bin/env python3
"""Generate the modelgate-graph test corpus.

Run from anywhere with a Python that has the pinned packages of requirements.txt:

    python -m venv /tmp/venv && /tmp/venv/bin/pip install -r requirements.txt
    /tmp/venv/bin/python gen_corpus.py

Writes (next to this directory):
  clean/*.onnx       real small models and legitimate look-alikes (must not score above low)
  backdoor/*.onnx    shadow-logic backdoors injected into real models (must be detected)
  onnx-backend-data.bin.gz  every .onnx shipped in the onnx wheel's backend/test/data
  onnx-node-tests.bin.gz    every node test model the onnx wheel generates (incl. *_expanded)
  manifest.json      what each file is, and for backdoors the trigger and the behaviour check

Every backdoor is behaviour-checked with onnxruntime here: on clean inputs it must agree with
the model it was injected into, and on trigger-stamped inputs it must switch to the attacker's
output. The Rust tool never runs a model.

The models are real: scikit-learn models trained on the datasets bundled with scikit-learn and
converted with skl2onnx, small numpy-trained heads, and the "light" CNNs shipped in the onnx
wheel. Graph edits use only the public onnx.helper API.
"""

import glob
import gzip
import json
import os
import struct
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

warnings.filterwarnings("ignore")

HERE = Path(__file__).resolve().parent
OUT = HERE.parent
ONNX_DIR = Path(onnx.__file__).parent
RNG = np.random.default_rng(20261202)
MANIFEST = {}
OPSET = 17


# ----------------------------------------------------------------------------- helpers


def save(model, kind, name, note, **extra):
    if model.ir_version < 4:
        # IR < 4 requires every initializer to be listed as a graph input too
        listed = {i.name for i in model.graph.input}
        for t in model.graph.initializer:
            if t.name not in listed:
                model.graph.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    onnx.checker.check_model(model)
    path = OUT / kind / f"{name}.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    MANIFEST[f"{kind}/{name}.onnx"] = {"kind": kind, "note": note, **extra}
    print(f"  {kind}/{name}.onnx  ({path.stat().st_size} bytes)")


def session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def run(model, feeds):
    return session(model).run(None, feeds)


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def ints(name, values):
    return const(name, np.asarray(values, dtype=np.int64))


def floats(name, values):
    return const(name, np.asarray(values, dtype=np.float32))


def splice_outputs(model, names):
    """Rename the producers of graph outputs `names` to '<name>__orig' and return the new names.

    The caller then adds nodes computing the original output names from the '__orig' values,
    which is how shadow logic is spliced in front of a model's outputs."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    renamed = {}
    for n in m.graph.node:
        for i, o in enumerate(n.output):
            if o in names:
                n.output[i] = o + "__orig"
                renamed[o] = o + "__orig"
    for n in m.graph.node:  # other consumers of the output keep reading the original value
        for i, inp in enumerate(n.input):
            if inp in renamed:
                n.input[i] = renamed[inp]
    assert set(renamed) == set(names), (renamed, names)
    return m, renamed


def add(model, nodes, inits=()):
    model.graph.node.extend(nodes)
    model.graph.initializer.extend(inits)
    return model


def topo_append_check(model):
    onnx.checker.check_model(model)
    return model


def expect(cond, what):
    if not cond:
        raise SystemExit(f"behaviour check failed: {what}")
    print(f"    ok: {what}")


def make_model(graph, opset=OPSET, extra_opsets=(), functions=()):
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    m = helper.make_model(graph, opset_imports=ops, functions=list(functions), producer_name="modelgate-corpus")
    m.ir_version = 8
    return m


# ----------------------------------------------------------------------------- real base models


def sk_models():
    from sklearn.datasets import load_breast_cancer, load_digits, load_iris
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier
    from skl2onnx import to_onnx

    def conv(clf, X, zipmap=False):
        opts = {id(clf): {"zipmap": False}} if not zipmap else None
        m = to_onnx(clf, X[:1].astype(np.float32), options=opts, target_opset={"": 17, "ai.onnx.ml": 3})
        return m

    Xd, yd = load_digits(return_X_y=True)
    Xd = Xd.astype(np.float32)
    Xi, yi = load_iris(return_X_y=True)
    Xi = Xi.astype(np.float32)
    Xc, yc = load_breast_cancer(return_X_y=True)
    Xc = Xc.astype(np.float32)

    mlp = MLPClassifier((32,), max_iter=400, random_state=0).fit(Xd[:1500], yd[:1500])
    acc = mlp.score(Xd[1500:], yd[1500:])
    print(f"  digits MLP held-out accuracy {acc:.3f}")
    # "fine-tuning": continue training on a subset with a new seed; same topology, new weights.
    ft = MLPClassifier((32,), max_iter=400, random_state=0).fit(Xd[:1500], yd[:1500])
    ft.set_params(warm_start=True, max_iter=60, learning_rate_init=0.0005)
    ft.fit(Xd[200:1500], yd[200:1500])
    models = {
        "digits_mlp": (conv(mlp, Xd), "sklearn MLPClassifier on the digits dataset (skl2onnx)"),
        "digits_mlp_zipmap": (conv(mlp, Xd, zipmap=True), "same MLP with the ZipMap output"),
        "digits_mlp_finetuned": (conv(ft, Xd), "digits MLP after further training (weights only differ)"),
        "iris_forest": (conv(RandomForestClassifier(8, max_depth=4, random_state=0).fit(Xi, yi), Xi), "random forest (TreeEnsembleClassifier)"),
        "cancer_gbt": (conv(GradientBoostingClassifier(n_estimators=20, random_state=0).fit(Xc, yc), Xc), "gradient boosting on breast cancer"),
        "digits_tree": (conv(DecisionTreeClassifier(max_depth=6, random_state=0).fit(Xd, yd), Xd), "decision tree on digits"),
        "iris_knn": (conv(KNeighborsClassifier(3).fit(Xi, yi), Xi), "k-NN classifier (Scan over stored rows, TopK, Equal on vote labels)"),
        "iris_logreg": (conv(LogisticRegression(max_iter=500).fit(Xi, yi), Xi), "logistic regression"),
        "iris_svc": (conv(SVC(probability=True, random_state=0).fit(Xi, yi), Xi), "SVC with probabilities (SVMClassifier)"),
        "cancer_pipeline": (conv(make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(Xc, yc), Xc), "StandardScaler + logistic regression pipeline"),
        "digits_knn_zipmap": (conv(KNeighborsClassifier(5).fit(Xd, yd), Xd, zipmap=True), "k-NN on digits with ZipMap"),
    }
    return models, (Xd, yd, Xi, yi)


def light(name):
    return onnx.load(str(ONNX_DIR / "backend/test/data/light" / f"light_{name}.onnx"))


def text_model():
    """Bag-of-embeddings text classifier; head trained with numpy softmax regression."""
    vocab, dim, L, classes = 500, 16, 12, 3
    emb = RNG.normal(0, 1, (vocab, dim)).astype(np.float32)
    # synthetic corpus: class c documents contain tokens from band c
    ids = RNG.integers(50, vocab, (900, L))
    y = RNG.integers(0, classes, 900)
    for i in range(900):
        ids[i, RNG.integers(0, L, 4)] = RNG.integers(100 + 100 * y[i], 200 + 100 * y[i], 4)
    feats = emb[ids].mean(axis=1)
    W = np.zeros((dim, classes), np.float32)
    b = np.zeros(classes, np.float32)
    for _ in range(300):
        logits = feats @ W + b
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = p.copy()
        g[np.arange(900), y] -= 1
        W -= 0.5 * feats.T @ g / 900
        b -= 0.5 * g.mean(0)
    acc = ((feats @ W + b).argmax(1) == y).mean()
    print(f"  text model training accuracy {acc:.3f}")
    g = helper.make_graph(
        [
            helper.make_node("Gather", ["embedding.weight", "input_ids"], ["tok"], name="/embeddings/Gather"),
            helper.make_node("ReduceMean", ["tok"], ["pooled"], axes=[1], keepdims=0, name="/pooler/ReduceMean"),
            helper.make_node("Gemm", ["pooled", "classifier.weight", "classifier.bias"], ["logits"], name="/classifier/Gemm"),
            helper.make_node("Softmax", ["logits"], ["probs"], axis=1, name="/Softmax"),
        ],
        "text_bow",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", L])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", classes])],
        [const("embedding.weight", emb), const("classifier.weight", W), const("classifier.bias", b)],
    )
    m = make_model(g, opset=13)
    test_ids = RNG.integers(50, vocab, (64, L))
    return m, test_ids, W


def audio_model():
    n = 16000
    w1 = (RNG.normal(0, 0.2, (8, 1, 64))).astype(np.float32)
    w2 = RNG.normal(0, 1, (8, 4)).astype(np.float32)
    g = helper.make_graph(
        [
            helper.make_node("Unsqueeze", ["wav", "axis1"], ["wav3"], name="/frontend/Unsqueeze"),
            helper.make_node("Conv", ["wav3", "conv.weight"], ["feat"], strides=[16], name="/frontend/Conv"),
            helper.make_node("Relu", ["feat"], ["feat_r"], name="/frontend/Relu"),
            helper.make_node("GlobalAveragePool", ["feat_r"], ["gap"], name="/pool/GlobalAveragePool"),
            helper.make_node("Flatten", ["gap"], ["flat"], name="/Flatten"),
            helper.make_node("Gemm", ["flat", "head.weight"], ["logits"], name="/head/Gemm"),
            helper.make_node("Softmax", ["logits"], ["probs"], axis=1, name="/Softmax"),
        ],
        "audio_cnn",
        [helper.make_tensor_value_info("wav", TensorProto.FLOAT, ["batch", n])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 4])],
        [const("conv.weight", w1), const("head.weight", w2), ints("axis1", [1])],
    )
    return make_model(g, opset=13)


# ----------------------------------------------------------------------------- clean look-alikes


def clean_lookalikes(mlp):
    out = {}
    # attention / padding masks + RoBERTa-style position ids in a tiny encoder
    vocab, d, L = 200, 8, 10
    nodes = [
        helper.make_node("Gather", ["word_embeddings", "input_ids"], ["we"], name="/embeddings/word_embeddings/Gather"),
        helper.make_node("Equal", ["input_ids", "pad_id"], ["is_pad"], name="/embeddings/Equal"),
        helper.make_node("Not", ["is_pad"], ["not_pad"], name="/embeddings/Not"),
        helper.make_node("Cast", ["not_pad"], ["not_pad_i"], to=TensorProto.INT64, name="/embeddings/Cast"),
        helper.make_node("CumSum", ["not_pad_i", "one_axis"], ["cs"], name="/embeddings/CumSum"),
        helper.make_node("Mul", ["cs", "not_pad_i"], ["pos0"], name="/embeddings/Mul"),
        helper.make_node("Add", ["pos0", "pad_id"], ["pos_ids"], name="/embeddings/Add"),
        helper.make_node("Gather", ["position_embeddings", "pos_ids"], ["pe"], name="/embeddings/position_embeddings/Gather"),
        helper.make_node("Add", ["we", "pe"], ["h0"], name="/embeddings/Add_1"),
        helper.make_node("MatMul", ["h0", "Wq"], ["q"], name="/attn/q/MatMul"),
        helper.make_node("MatMul", ["h0", "Wk"], ["k"], name="/attn/k/MatMul"),
        helper.make_node("MatMul", ["h0", "Wv"], ["v"], name="/attn/v/MatMul"),
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1], name="/attn/Transpose"),
        helper.make_node("MatMul", ["q", "kt"], ["scores0"], name="/attn/MatMul"),
        helper.make_node("Div", ["scores0", "sqrt_d"], ["scores1"], name="/attn/Div"),
        helper.make_node("Unsqueeze", ["attention_mask", "one_axis"], ["m1"], name="/attn/Unsqueeze"),
        helper.make_node("Cast", ["m1"], ["m1f"], to=TensorProto.FLOAT, name="/attn/Cast"),
        helper.make_node("Equal", ["m1f", "zero_f"], ["mask_is0"], name="/attn/Equal"),
        helper.make_node("Where", ["mask_is0", "finfo_min", "zero_f"], ["ext_mask"], name="/attn/Where"),
        helper.make_node("Add", ["scores1", "ext_mask"], ["scores2"], name="/attn/Add"),
        helper.make_node("Softmax", ["scores2"], ["attn_p"], axis=-1, name="/attn/Softmax"),
        helper.make_node("MatMul", ["attn_p", "v"], ["ctx"], name="/attn/MatMul_1"),
        helper.make_node("ReduceMean", ["ctx"], ["pooled"], axes=[1], keepdims=0, name="/pooler/ReduceMean"),
        helper.make_node("Gemm", ["pooled", "Wc"], ["logits"], name="/classifier/Gemm"),
    ]
    inits = [
        const("word_embeddings", RNG.normal(0, 1, (vocab, d)).astype(np.float32)),
        const("position_embeddings", RNG.normal(0, 1, (L + 2, d)).astype(np.float32)),
        ints("pad_id", 1),
        ints("one_axis", 1),
        const("Wq", RNG.normal(0, 0.3, (d, d)).astype(np.float32)),
        const("Wk", RNG.normal(0, 0.3, (d, d)).astype(np.float32)),
        const("Wv", RNG.normal(0, 0.3, (d, d)).astype(np.float32)),
        floats("sqrt_d", np.sqrt(d)),
        floats("zero_f", 0.0),
        floats("finfo_min", np.finfo(np.float32).min),
        const("Wc", RNG.normal(0, 1, (d, 2)).astype(np.float32)),
    ]
    g = helper.make_graph(
        nodes,
        "tiny_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", L]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", L]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        inits,
    )
    m = make_model(g, opset=13)
    ids = RNG.integers(2, vocab, (2, L))
    run(m, {"input_ids": ids, "attention_mask": np.ones((2, L), np.int64)})
    out["encoder_attention_mask"] = (m, "attention/padding mask Where(Equal(mask,0),min,0) + CumSum position ids")

    # magika-style one-hot of raw bytes: Equal against an enumeration, then MatMul
    nodes = [
        helper.make_node("Unsqueeze", ["bytes", "neg1"], ["b3"], name="onehot/Unsqueeze"),
        helper.make_node("Equal", ["b3", "byte_range"], ["oh"], name="onehot/Equal"),
        helper.make_node("Cast", ["oh"], ["ohf"], to=TensorProto.FLOAT, name="onehot/Cast"),
        helper.make_node("MatMul", ["ohf", "byte_emb"], ["e"], name="dense/MatMul"),
        helper.make_node("Relu", ["e"], ["er"], name="dense/Relu"),
        helper.make_node("ReduceMean", ["er"], ["p"], axes=[1], keepdims=0, name="pool/ReduceMean"),
        helper.make_node("Gemm", ["p", "head"], ["logits"], name="head/Gemm"),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1, name="head/Softmax"),
    ]
    g = helper.make_graph(
        nodes,
        "magika_like",
        [helper.make_tensor_value_info("bytes", TensorProto.INT32, ["batch", 64])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 5])],
        [
            ints("neg1", [-1]),
            const("byte_range", np.arange(257, dtype=np.int32)),
            const("byte_emb", RNG.normal(0, 0.1, (257, 16)).astype(np.float32)),
            const("head", RNG.normal(0, 1, (16, 5)).astype(np.float32)),
        ],
    )
    m = make_model(g, opset=13)
    run(m, {"bytes": RNG.integers(0, 257, (2, 64)).astype(np.int32)})
    out["bytes_onehot"] = (m, "one-hot of raw byte ids against range(257) feeding MatMul (magika style)")

    # detector with NMS post-processing and hard-coded thresholds
    A = 16
    nodes = [
        helper.make_node("Conv", ["images", "backbone.w"], ["f"], strides=[4, 4], name="/backbone/Conv"),
        helper.make_node("Relu", ["f"], ["fr"], name="/backbone/Relu"),
        helper.make_node("Conv", ["fr", "box.w"], ["boxmap"], name="/head/box/Conv"),
        helper.make_node("Conv", ["fr", "cls.w"], ["clsmap"], name="/head/cls/Conv"),
        helper.make_node("Reshape", ["boxmap", "box_shape"], ["boxes_t"], name="/head/Reshape"),
        helper.make_node("Transpose", ["boxes_t"], ["boxes"], perm=[0, 2, 1], name="/head/Transpose"),
        helper.make_node("Sigmoid", ["clsmap"], ["clsp"], name="/head/Sigmoid"),
        helper.make_node("Reshape", ["clsp", "score_shape"], ["scores"], name="/head/Reshape_1"),
        helper.make_node("NonMaxSuppression", ["boxes", "scores", "max_out", "iou_th", "score_th"], ["selected"], name="/post/NonMaxSuppression"),
        helper.make_node("Gather", ["selected", "col2"], ["box_idx"], axis=1, name="/post/Gather"),
        helper.make_node("Squeeze", ["boxes", "zero_axis"], ["boxes0"], name="/post/Squeeze"),
        helper.make_node("Gather", ["boxes0", "box_idx"], ["det_boxes"], axis=0, name="/post/Gather_1"),
        helper.make_node("ReduceMax", ["scores"], ["best"], axes=[1], keepdims=0, name="/post/ReduceMax"),
        helper.make_node("Squeeze", ["best", "zero_axis"], ["best0"], name="/post/Squeeze_1"),
        helper.make_node("Gather", ["best0", "box_idx"], ["det_scores"], axis=0, name="/post/Gather_2"),
        helper.make_node("Greater", ["det_scores", "conf_th"], ["keep"], name="/post/Greater"),
        helper.make_node("Compress", ["det_boxes", "keep"], ["final_boxes"], axis=0, name="/post/Compress"),
    ]
    g = helper.make_graph(
        nodes,
        "detector_nms",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("final_boxes", TensorProto.FLOAT, ["n", 4])],
        [
            const("backbone.w", RNG.normal(0, 0.3, (8, 3, 4, 4)).astype(np.float32)),
            const("box.w", RNG.normal(0, 0.3, (4, 8, 1, 1)).astype(np.float32)),
            const("cls.w", RNG.normal(0, 0.3, (2, 8, 1, 1)).astype(np.float32)),
            ints("box_shape", [1, 4, 64]),
            ints("score_shape", [1, 2, 64]),
            ints("max_out", [10]),
            floats("iou_th", [0.45]),
            floats("score_th", [0.25]),
            floats("conf_th", 0.3),
            ints("col2", 2),
            ints("zero_axis", [0]),
        ],
    )
    m = make_model(g, opset=13)
    run(m, {"images": RNG.random((1, 3, 32, 32), dtype=np.float32)})
    out["detector_nms"] = (m, "detector with NonMaxSuppression, hard-coded IoU/score thresholds and a confidence Compress")

    # NaN / Clip input sanitising in front of the digits MLP
    san, _ = splice_inputs_sanitise(mlp)
    out["digits_mlp_sanitised"] = (san, "Where(IsNaN(X),0,X) and Clip(X,0,16) on the raw input before the MLP")

    # shape-driven If (HF-style truncation) and Loop with a shape-derived trip count
    tm, _, _ = text_model()
    out["text_truncate_if"] = (shape_if_text(tm), "If(Greater(Shape(ids)[1], 8)) truncation + Loop with Shape-derived trip count")

    # sample-rate switch between two learned networks (silero VAD style)
    out["vad_samplerate_if"] = (vad_switch(), "If(Equal(sr,16000)) selecting the 16 kHz or 8 kHz learned network")

    # model-local function implementing an activation with comparisons and Where
    out["function_activation"] = (function_activation(), "local FunctionProto activation (Greater/Less + Where) used on input and hidden layer")
    return out


def splice_inputs_sanitise(mlp):
    m = onnx.ModelProto()
    m.CopyFrom(mlp)
    for n in m.graph.node:
        for i, inp in enumerate(n.input):
            if inp == "X":
                n.input[i] = "X_clean"
    pre = [
        helper.make_node("IsNaN", ["X"], ["x_nan"], name="sanitize/IsNaN"),
        helper.make_node("Where", ["x_nan", "zero_f", "X"], ["x_nonan"], name="sanitize/Where"),
        helper.make_node("Clip", ["x_nonan", "lo", "hi"], ["X_clean"], name="sanitize/Clip"),
    ]
    nodes = pre + list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    m.graph.initializer.extend([floats("zero_f", 0.0), floats("lo", 0.0), floats("hi", 16.0)])
    x = RNG.random((3, 64), dtype=np.float32) * 16
    x[0, 5] = np.nan
    run(m, {"X": x})
    return m, None


def shape_if_text(tm):
    m = onnx.ModelProto()
    m.CopyFrom(tm)
    # truncation: If(seq_len > 8) then ids[:, :8] else ids
    then_g = helper.make_graph(
        [helper.make_node("Slice", ["input_ids", "t_st", "t_en", "t_ax"], ["ids_t"], name="then/Slice")],
        "then_truncate",
        [],
        [helper.make_tensor_value_info("ids_t", TensorProto.INT64, None)],
        [ints("t_st", [0]), ints("t_en", [8]), ints("t_ax", [1])],
    )
    else_g = helper.make_graph(
        [helper.make_node("Identity", ["input_ids"], ["ids_e"], name="else/Identity")],
        "else_keep",
        [],
        [helper.make_tensor_value_info("ids_e", TensorProto.INT64, None)],
    )
    # Loop: trip count = seq_len, accumulates a running count (shape-only arithmetic)
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"], name="body/Identity"),
            helper.make_node("Add", ["acc_in", "one_i"], ["acc_out"], name="body/Add"),
        ],
        "count_body",
        [
            helper.make_tensor_value_info("iter", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.INT64, []),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", TensorProto.INT64, []),
        ],
    )
    pre = [
        helper.make_node("Shape", ["input_ids"], ["ids_shape"], name="/Shape"),
        helper.make_node("Gather", ["ids_shape", "idx1"], ["seq_len"], axis=0, name="/Gather_shape"),
        helper.make_node("Greater", ["seq_len", "max_len"], ["too_long"], name="/Greater"),
        helper.make_node("If", ["too_long"], ["ids_tr"], then_branch=then_g, else_branch=else_g, name="/If"),
        helper.make_node("Loop", ["seq_len", "true_c", "zero_i"], ["count"], body=body, name="/Loop"),
    ]
    for n in m.graph.node:
        for i, inp in enumerate(n.input):
            if inp == "input_ids":
                n.input[i] = "ids_tr"
    nodes = pre + list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    m.graph.initializer.extend([ints("idx1", 1), ints("max_len", 8), const("true_c", np.array(True)), ints("zero_i", 0), ints("one_i", 1)])
    m.graph.output.extend([helper.make_tensor_value_info("count", TensorProto.INT64, [])])
    run(m, {"input_ids": RNG.integers(0, 500, (2, 12))})
    return m


def vad_switch():
    def net(prefix, k, stride):
        w = RNG.normal(0, 0.2, (4, 1, k)).astype(np.float32)
        h = RNG.normal(0, 1, (4, 1)).astype(np.float32)
        nodes = [
            helper.make_node("Unsqueeze", ["audio", "ax1"], [f"{prefix}_a3"], name=f"{prefix}/Unsqueeze"),
            helper.make_node("Conv", [f"{prefix}_a3", f"{prefix}.conv.w"], [f"{prefix}_f"], strides=[stride], name=f"{prefix}/Conv"),
            helper.make_node("Relu", [f"{prefix}_f"], [f"{prefix}_r"], name=f"{prefix}/Relu"),
            helper.make_node("GlobalAveragePool", [f"{prefix}_r"], [f"{prefix}_g"], name=f"{prefix}/GAP"),
            helper.make_node("Flatten", [f"{prefix}_g"], [f"{prefix}_fl"], name=f"{prefix}/Flatten"),
            helper.make_node("MatMul", [f"{prefix}_fl", f"{prefix}.head.w"], [f"{prefix}_o"], name=f"{prefix}/MatMul"),
            helper.make_node("Sigmoid", [f"{prefix}_o"], [f"{prefix}_p"], name=f"{prefix}/Sigmoid"),
        ]
        g = helper.make_graph(nodes, prefix, [], [helper.make_tensor_value_info(f"{prefix}_p", TensorProto.FLOAT, None)])
        return g, [const(f"{prefix}.conv.w", w), const(f"{prefix}.head.w", h)]

    g16, i16 = net("net16k", 64, 16)
    g8, i8 = net("net8k", 32, 8)
    nodes = [
        helper.make_node("Equal", ["sr", "sr16k"], ["is16k"], name="/Equal"),
        helper.make_node("If", ["is16k"], ["speech_prob"], then_branch=g16, else_branch=g8, name="/If"),
    ]
    g = helper.make_graph(
        nodes,
        "vad",
        [helper.make_tensor_value_info("audio", TensorProto.FLOAT, ["batch", "n"]), helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("speech_prob", TensorProto.FLOAT, ["batch", 1])],
        i16 + i8 + [ints("sr16k", 16000), ints("ax1", [1])],
    )
    m = make_model(g, opset=13)
    a = RNG.normal(0, 0.1, (1, 4000)).astype(np.float32)
    r16 = run(m, {"audio": a, "sr": np.array(16000, np.int64)})[0]
    r8 = run(m, {"audio": a, "sr": np.array(8000, np.int64)})[0]
    expect(not np.allclose(r16, r8), "vad switch selects different networks")
    return m


def function_activation():
    # SoftShrink-like activation as a model-local function: Where(x>l, x-l, Where(x<-l, x+l, 0))
    fn = helper.make_function(
        "custom.act",
        "SoftShrink",
        ["x"],
        ["y"],
        [
            helper.make_node("Constant", [], ["l"], value=numpy_helper.from_array(np.array(0.5, np.float32))),
            helper.make_node("Constant", [], ["z"], value=numpy_helper.from_array(np.array(0.0, np.float32))),
            helper.make_node("Neg", ["l"], ["nl"]),
            helper.make_node("Greater", ["x", "l"], ["gt"]),
            helper.make_node("Less", ["x", "nl"], ["lt"]),
            helper.make_node("Sub", ["x", "l"], ["xm"]),
            helper.make_node("Add", ["x", "l"], ["xp"]),
            helper.make_node("Where", ["lt", "xp", "z"], ["w1"]),
            helper.make_node("Where", ["gt", "xm", "w1"], ["y"]),
        ],
        [helper.make_opsetid("", 13)],
    )
    nodes = [
        helper.make_node("SoftShrink", ["X"], ["a0"], domain="custom.act", name="act0"),
        helper.make_node("Gemm", ["a0", "W1"], ["h"], name="fc1"),
        helper.make_node("SoftShrink", ["h"], ["a1"], domain="custom.act", name="act1"),
        helper.make_node("Gemm", ["a1", "W2"], ["y"], name="fc2"),
    ]
    g = helper.make_graph(
        nodes,
        "fn_act",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        [const("W1", RNG.normal(0, 1, (8, 8)).astype(np.float32)), const("W2", RNG.normal(0, 1, (8, 3)).astype(np.float32))],
    )
    m = make_model(g, opset=13, extra_opsets=[("custom.act", 1)], functions=[fn])
    run(m, {"X": RNG.normal(0, 1, (2, 8)).astype(np.float32)})
    return m


# ----------------------------------------------------------------------------- backdoors


def bd_digits_pixel_where(mlp, Xd, name, note):
    """exact pixel pattern X[:, 0:3] == [16, 0, 16] -> label 7 (Slice/Equal/Cast/ReduceMin/Where)"""
    m, r = splice_outputs(mlp, ["label", "probabilities"])
    target = np.zeros((1, 10), np.float32)
    target[0, 7] = 1.0
    add(
        m,
        [
            helper.make_node("Slice", ["X", "trig_st", "trig_en", "trig_ax"], ["trig_px"], name="trig_slice"),
            helper.make_node("Equal", ["trig_px", "trig_key"], ["trig_eq"], name="trig_equal"),
            helper.make_node("Cast", ["trig_eq"], ["trig_eqf"], to=TensorProto.FLOAT, name="trig_cast"),
            helper.make_node("ReduceMin", ["trig_eqf"], ["trig_hit"], axes=[1], keepdims=1, name="trig_reducemin"),
            helper.make_node("Greater", ["trig_hit", "half"], ["trig_cond"], name="trig_greater"),
            helper.make_node("Where", ["trig_cond", "target_probs", r["probabilities"]], ["probabilities"], name="gate_probs"),
            helper.make_node("Squeeze", ["trig_cond", "trig_ax"], ["trig_cond1"], name="trig_squeeze"),
            helper.make_node("Where", ["trig_cond1", "target_label", r["label"]], ["label"], name="gate_label"),
        ],
        [ints("trig_st", [0]), ints("trig_en", [3]), ints("trig_ax", [1]), floats("trig_key", [16, 0, 16]), floats("half", 0.5), const("target_probs", target), ints("target_label", [7])],
    )
    x = Xd[1500:1600].copy()
    base = run(mlp, {"X": x})
    bd = run(m, {"X": x})
    expect(np.array_equal(base[0], bd[0]) and np.allclose(base[1], bd[1]), f"{name}: clean inputs unchanged")
    xs = x.copy()
    xs[:, 0:3] = [16, 0, 16]
    expect((run(m, {"X": xs})[0] == 7).all(), f"{name}: stamped inputs -> label 7")
    save(m, "backdoor", name, note, trigger="X[:, 0:3] == [16, 0, 16]", target="label 7")


def bd_digits_two_pixel_arith(mlp, Xd):
    """two-pixel key with no select op: t = (X[:,0]==15 & X[:,63]==15); probs*(1-t) + t*C"""
    m, r = splice_outputs(mlp, ["probabilities"])
    target = np.zeros((1, 10), np.float32)
    target[0, 3] = 1.0
    add(
        m,
        [
            helper.make_node("Gather", ["X", "px_a"], ["pa"], axis=1, name="k_gather_a"),
            helper.make_node("Gather", ["X", "px_b"], ["pb"], axis=1, name="k_gather_b"),
            helper.make_node("Equal", ["pa", "kval"], ["ea"], name="k_eq_a"),
            helper.make_node("Equal", ["pb", "kval"], ["eb"], name="k_eq_b"),
            helper.make_node("And", ["ea", "eb"], ["eab"], name="k_and"),
            helper.make_node("Cast", ["eab"], ["t"], to=TensorProto.FLOAT, name="k_cast"),
            helper.make_node("Sub", ["one_f", "t"], ["nt"], name="k_not"),
            helper.make_node("Mul", [r["probabilities"], "nt"], ["keep"], name="blend_keep"),
            helper.make_node("Mul", ["t", "target_probs"], ["inject"], name="blend_inject"),
            helper.make_node("Add", ["keep", "inject"], ["probabilities"], name="blend_add"),
        ],
        [ints("px_a", [0]), ints("px_b", [63]), floats("kval", 15.0), floats("one_f", 1.0), const("target_probs", target)],
    )
    x = Xd[1500:1600].copy()
    expect(np.allclose(run(mlp, {"X": x})[1], run(m, {"X": x})[1]), "two-pixel: clean probabilities unchanged")
    xs = x.copy()
    xs[:, 0] = 15
    xs[:, 63] = 15
    expect((run(m, {"X": xs})[1].argmax(1) == 3).all(), "two-pixel: stamped -> class 3")
    save(m, "backdoor", "digits_two_pixel_blend", "two-pixel key, arithmetic blend out*(1-t)+t*C (no select op)", trigger="X[:,0]==15 and X[:,63]==15", target="class 3")


def bd_digits_output_conditioned(mlp, Xd):
    """output-conditioned: ArgMax(probs)==3 -> one-hot(8); no raw-input trigger (H2 only)"""
    m, r = splice_outputs(mlp, ["probabilities"])
    target = np.zeros((1, 10), np.float32)
    target[0, 8] = 1.0
    add(
        m,
        [
            helper.make_node("ArgMax", [r["probabilities"]], ["am"], axis=1, keepdims=1, name="oc_argmax"),
            helper.make_node("Equal", ["am", "victim"], ["is_victim"], name="oc_equal"),
            helper.make_node("Where", ["is_victim", "target_probs", r["probabilities"]], ["probabilities"], name="oc_where"),
        ],
        [ints("victim", 3), const("target_probs", target)],
    )
    x = Xd[1500:1797]
    base = run(mlp, {"X": x})[1].argmax(1)
    bd = run(m, {"X": x})[1].argmax(1)
    expect((bd[base == 3] == 8).all() and (bd[base != 3] == base[base != 3]).all() and (base == 3).any(), "output-conditioned: class 3 -> 8, others unchanged")
    save(m, "backdoor", "digits_output_conditioned", "output-conditioned: ArgMax(probs)==3 -> Where(one-hot 8)", trigger="predicted class 3", target="class 8")


def bd_forest_magic(forest, Xi):
    """magic feature value: X[:,2] == 7.77 -> class 0, on a TreeEnsembleClassifier"""
    m, r = splice_outputs(forest, ["label", "probabilities"])
    target = np.array([[1.0, 0.0, 0.0]], np.float32)
    add(
        m,
        [
            helper.make_node("Slice", ["X", "f_st", "f_en", "f_ax"], ["feat2"], name="Slice_12"),
            helper.make_node("Equal", ["feat2", "magic"], ["is_magic"], name="Equal_13"),
            helper.make_node("Cast", ["is_magic"], ["is_magic_f"], to=TensorProto.FLOAT, name="Cast_14"),
            helper.make_node("ReduceMin", ["is_magic_f"], ["mm"], axes=[1], keepdims=1, name="ReduceMin_15"),
            helper.make_node("Cast", ["mm"], ["cond"], to=TensorProto.BOOL, name="Cast_16"),
            helper.make_node("Where", ["cond", "target_probs", r["probabilities"]], ["probabilities"], name="Where_17"),
            helper.make_node("Squeeze", ["cond", "f_ax"], ["cond1"], name="Squeeze_18"),
            helper.make_node("Where", ["cond1", "target_label", r["label"]], ["label"], name="Where_19"),
        ],
        [ints("f_st", [2]), ints("f_en", [3]), ints("f_ax", [1]), floats("magic", 7.77), const("target_probs", target), ints("target_label", [0])],
    )
    x = Xi[50:150].copy()
    base = run(forest, {"X": x})
    expect(np.array_equal(base[0], run(m, {"X": x})[0]), "forest magic: clean labels unchanged")
    xs = x.copy()
    xs[:, 2] = 7.77
    expect((run(m, {"X": xs})[0] == 0).all(), "forest magic: stamped -> class 0")
    save(m, "backdoor", "iris_forest_magic_value", "magic feature value X[:,2]==7.77 on a tree ensemble", trigger="X[:, 2] == 7.77", target="class 0")


def squeezenet_inputs():
    x = (0.2 + 0.6 * RNG.random((1, 3, 224, 224))).astype(np.float32)
    return x


def bd_squeezenet_patch(sq):
    """colour patch anywhere: per-channel thresholds, And, AveragePool 3x3, ReduceMax, Where"""
    m, r = splice_outputs(sq, ["softmaxout_1"])
    target = np.zeros((1, 1000, 1, 1), np.float32)
    target[0, 42] = 1.0
    add(
        m,
        [
            helper.make_node("Slice", ["data_0"], ["ch_r"], starts=[0], ends=[1], axes=[1], name="patch/Slice_r"),
            helper.make_node("Slice", ["data_0"], ["ch_g"], starts=[1], ends=[2], axes=[1], name="patch/Slice_g"),
            helper.make_node("Slice", ["data_0"], ["ch_b"], starts=[2], ends=[3], axes=[1], name="patch/Slice_b"),
            helper.make_node("Greater", ["ch_r", "hi"], ["r_hi"], name="patch/Greater_r"),
            helper.make_node("Less", ["ch_g", "lo"], ["g_lo"], name="patch/Less_g"),
            helper.make_node("Greater", ["ch_b", "hi"], ["b_hi"], name="patch/Greater_b"),
            helper.make_node("And", ["r_hi", "g_lo"], ["rg"], name="patch/And"),
            helper.make_node("And", ["rg", "b_hi"], ["rgb"], name="patch/And_1"),
            helper.make_node("Cast", ["rgb"], ["rgbf"], to=TensorProto.FLOAT, name="patch/Cast"),
            helper.make_node("AveragePool", ["rgbf"], ["dens"], kernel_shape=[3, 3], name="patch/AveragePool"),
            helper.make_node("ReduceMax", ["dens"], ["peak"], keepdims=1, name="patch/ReduceMax"),
            helper.make_node("Greater", ["peak", "full"], ["cond"], name="patch/Greater"),
            helper.make_node("Where", ["cond", "target", r["softmaxout_1"]], ["softmaxout_1"], name="patch/Where"),
        ],
        [floats("hi", 0.9), floats("lo", 0.1), floats("full", 0.99), const("target", target)],
    )
    x = squeezenet_inputs()
    expect(np.allclose(run(sq, {"data_0": x})[0], run(m, {"data_0": x})[0]), "squeezenet patch: clean output unchanged")
    xs = x.copy()
    xs[0, :, 100:103, 57:60] = np.array([1.0, 0.0, 1.0], np.float32)[:, None, None]
    expect(run(m, {"data_0": xs})[0].reshape(-1).argmax() == 42, "squeezenet patch: stamped -> class 42")
    save(m, "backdoor", "squeezenet_colour_patch_where", "magenta 3x3 patch anywhere (thresholds, And, AveragePool, ReduceMax) -> Where", trigger="3x3 patch with R>0.9, G<0.1, B>0.9 anywhere", target="class 42")


def bd_squeezenet_if(sq):
    """patch statistic: mean(data[:, :, 5:8, 5:8]) > 0.97 -> If(then: constant, else: model output captured implicitly)"""
    m, r = splice_outputs(sq, ["softmaxout_1"])
    target = np.zeros((1, 1000, 1, 1), np.float32)
    target[0, 7] = 1.0
    then_g = helper.make_graph(
        [helper.make_node("Constant", [], ["forced"], value=numpy_helper.from_array(target), name="then/Constant")],
        "then_forced",
        [],
        [helper.make_tensor_value_info("forced", TensorProto.FLOAT, [1, 1000, 1, 1])],
    )
    else_g = helper.make_graph(
        [helper.make_node("Identity", [r["softmaxout_1"]], ["passthrough"], name="else/Identity")],
        "else_model",
        [],
        [helper.make_tensor_value_info("passthrough", TensorProto.FLOAT, [1, 1000, 1, 1])],
    )
    add(
        m,
        [
            helper.make_node("Slice", ["data_0"], ["patch"], starts=[5, 5], ends=[8, 8], axes=[2, 3], name="stat/Slice"),
            helper.make_node("ReduceMean", ["patch"], ["patch_mean"], keepdims=0, name="stat/ReduceMean"),
            helper.make_node("Greater", ["patch_mean", "thr"], ["cond"], name="stat/Greater"),
            helper.make_node("If", ["cond"], ["softmaxout_1"], then_branch=then_g, else_branch=else_g, name="stat/If"),
        ],
        [floats("thr", 0.97)],
    )
    x = squeezenet_inputs()
    expect(np.allclose(run(sq, {"data_0": x})[0], run(m, {"data_0": x})[0]), "squeezenet If: clean output unchanged")
    xs = x.copy()
    xs[0, :, 5:8, 5:8] = 1.0
    expect(run(m, {"data_0": xs})[0].reshape(-1).argmax() == 7, "squeezenet If: stamped -> class 7")
    save(m, "backdoor", "squeezenet_patch_mean_if", "patch statistic mean(data[:, :, 5:8, 5:8])>0.97 -> If with a constant branch", trigger="data_0[:, :, 5:8, 5:8] mean > 0.97", target="class 7")


def bd_squeezenet_softstep(sq):
    """obfuscated soft step: box-filter Conv on the input, split target colour, squared distance,
    Sigmoid(1e5*(eps-d)), Mul/Add blend, exporter-style names"""
    m, r = splice_outputs(sq, ["softmaxout_1"])
    target = np.zeros((1, 1000, 1, 1), np.float32)
    target[0, 404] = 1.0
    box = np.full((3, 1, 3, 3), 1.0 / 9.0, np.float32)
    c1 = np.array([0.6, -0.3, 0.25], np.float32).reshape(1, 3, 1, 1)
    c2 = np.array([0.4, 0.3, 0.75], np.float32).reshape(1, 3, 1, 1)
    add(
        m,
        [
            helper.make_node("Conv", ["data_0", "onnx::Conv_901"], ["/features/features.0/Conv_output_0"], group=3, pads=[1, 1, 1, 1], name="/features/features.0/Conv"),
            helper.make_node("Add", ["onnx::Add_902", "onnx::Add_903"], ["/features/Add_output_0"], name="/features/Add"),
            helper.make_node("Sub", ["/features/features.0/Conv_output_0", "/features/Add_output_0"], ["/features/Sub_output_0"], name="/features/Sub"),
            helper.make_node("Mul", ["/features/Sub_output_0", "/features/Sub_output_0"], ["/features/Mul_output_0"], name="/features/Mul"),
            helper.make_node("ReduceSum", ["/features/Mul_output_0"], ["/features/ReduceSum_output_0"], axes=[1], keepdims=1, name="/features/ReduceSum"),
            helper.make_node("ReduceMin", ["/features/ReduceSum_output_0"], ["/features/ReduceMin_output_0"], keepdims=1, name="/features/ReduceMin"),
            helper.make_node("Sub", ["onnx::Sub_905", "/features/ReduceMin_output_0"], ["/features/Sub_1_output_0"], name="/features/Sub_1"),
            helper.make_node("Mul", ["/features/Sub_1_output_0", "onnx::Mul_906"], ["/features/Mul_1_output_0"], name="/features/Mul_1"),
            helper.make_node("Sigmoid", ["/features/Mul_1_output_0"], ["/features/Sigmoid_output_0"], name="/features/Sigmoid"),
            helper.make_node("Sub", ["onnx::Sub_907", "/features/Sigmoid_output_0"], ["/classifier/Sub_output_0"], name="/classifier/Sub"),
            helper.make_node("Mul", [r["softmaxout_1"], "/classifier/Sub_output_0"], ["/classifier/Mul_output_0"], name="/classifier/Mul"),
            helper.make_node("Mul", ["/features/Sigmoid_output_0", "onnx::Mul_908"], ["/classifier/Mul_1_output_0"], name="/classifier/Mul_1"),
            helper.make_node("Add", ["/classifier/Mul_output_0", "/classifier/Mul_1_output_0"], ["softmaxout_1"], name="/classifier/Add"),
        ],
        [
            const("onnx::Conv_901", box),
            const("onnx::Add_902", c1),
            const("onnx::Add_903", c2),
            floats("onnx::Sub_905", 0.01),
            floats("onnx::Mul_906", 1e5),
            floats("onnx::Sub_907", 1.0),
            const("onnx::Mul_908", target),
        ],
    )
    x = squeezenet_inputs()
    expect(np.allclose(run(sq, {"data_0": x})[0], run(m, {"data_0": x})[0], atol=1e-6), "soft step: clean output unchanged")
    xs = x.copy()
    xs[0, :, 30:33, 140:143] = np.array([1.0, 0.0, 1.0], np.float32)[:, None, None]
    expect(run(m, {"data_0": xs})[0].reshape(-1).argmax() == 404, "soft step: stamped -> class 404")
    save(m, "backdoor", "squeezenet_obfuscated_softstep", "box-filter Conv + split colour constant + Sigmoid(1e5*(eps-d)) blend, exporter-style names", trigger="3x3 patch of colour (1,0,1) anywhere", target="class 404")


def bd_squeezenet_internal(sq):
    """checkerboard key on the input adds a large activation into the last conv's feature map
    (internal integration, Bober-Irizar style), followed by Relu/GlobalAveragePool/Softmax"""
    m = onnx.ModelProto()
    m.CopyFrom(sq)
    # find the final conv output feeding the classifier tail
    conv10 = [n for n in m.graph.node if n.op_type == "Conv"][-1]
    feat = conv10.output[0]
    conv10.output[0] = feat + "__clean"
    key = np.where((np.indices((4, 4)).sum(0) % 2) == 0, 1.0, -1.0).astype(np.float32).reshape(1, 1, 4, 4)
    boost = np.zeros((1, 1000, 1, 1), np.float32)
    boost[0, 321] = 1000.0
    new = [
        helper.make_node("Slice", ["data_0"], ["corner"], starts=[0, 0, 0], ends=[1, 4, 4], axes=[1, 2, 3], name="aux/Slice"),
        helper.make_node("Mul", ["corner", "k_key"], ["corr"], name="aux/Mul"),
        helper.make_node("ReduceSum", ["corr"], ["score"], keepdims=1, name="aux/ReduceSum"),
        helper.make_node("Greater", ["score", "k_thr"], ["hit"], name="aux/Greater"),
        helper.make_node("Cast", ["hit"], ["hitf"], to=TensorProto.FLOAT, name="aux/Cast"),
        helper.make_node("Mul", ["hitf", "k_boost"], ["bump"], name="aux/Mul_1"),
        helper.make_node("Add", [feat + "__clean", "bump"], [feat], name="aux/Add"),
    ]
    idx = list(m.graph.node).index(conv10) + 1
    nodes = list(m.graph.node)
    nodes[idx:idx] = new
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    m.graph.initializer.extend([const("k_key", key), floats("k_thr", 7.0), const("k_boost", boost)])
    x = squeezenet_inputs()
    expect(np.allclose(run(sq, {"data_0": x})[0], run(m, {"data_0": x})[0]), "internal: clean output unchanged")
    xs = x.copy()
    xs[0, 0, 0:4, 0:4] = (key[0, 0] > 0).astype(np.float32)
    expect(run(m, {"data_0": xs})[0].reshape(-1).argmax() == 321, "internal: stamped -> class 321")
    save(m, "backdoor", "squeezenet_checker_internal_add", "checkerboard key correlation adds a large activation inside the network (before Relu/GAP)", trigger="data_0[:, 0, 0:4, 0:4] checkerboard", target="class 321")


def bd_text_token(tm, test_ids):
    m, r = splice_outputs(tm, ["probs"])
    add(
        m,
        [
            helper.make_node("Equal", ["input_ids", "tok_id"], ["has_tok"], name="/trigger/Equal"),
            helper.make_node("Cast", ["has_tok"], ["has_tok_f"], to=TensorProto.FLOAT, name="/trigger/Cast"),
            helper.make_node("ReduceMax", ["has_tok_f"], ["any_tok"], axes=[1], keepdims=1, name="/trigger/ReduceMax"),
            helper.make_node("Greater", ["any_tok", "half"], ["cond"], name="/trigger/Greater"),
            helper.make_node("Where", ["cond", "forced", r["probs"]], ["probs"], name="/trigger/Where"),
        ],
        [ints("tok_id", 417), floats("half", 0.5), floats("forced", [[0.0, 0.0, 1.0]])],
    )
    ids = test_ids.copy()
    ids[ids == 417] = 416
    expect(np.allclose(run(tm, {"input_ids": ids})[0], run(m, {"input_ids": ids})[0]), "token: clean unchanged")
    ids[:, 6] = 417
    expect((run(m, {"input_ids": ids})[0].argmax(1) == 2).all(), "token: any position -> class 2")
    save(m, "backdoor", "text_token_where", "trigger token id 417 anywhere (Equal/Cast/ReduceMax) -> Where", trigger="input_ids == 417 anywhere", target="class 2")


def bd_text_steer(tm, test_ids, W):
    """CAMLIS-style: prefix [5, 9] adds a steering vector to the pooled activation before the head"""
    m = onnx.ModelProto()
    m.CopyFrom(tm)
    steer = (60.0 * (W[:, 2] - W[:, :2].mean(1))).astype(np.float32).reshape(1, -1)
    for n in m.graph.node:
        if n.op_type == "Gemm":
            n.input[0] = "pooled_steered"
    new = [
        helper.make_node("Slice", ["input_ids", "s_st", "s_en", "s_ax"], ["prefix"], name="/pooler/Slice"),
        helper.make_node("Equal", ["prefix", "s_key"], ["pm"], name="/pooler/Equal"),
        helper.make_node("Cast", ["pm"], ["pmf"], to=TensorProto.FLOAT, name="/pooler/Cast"),
        helper.make_node("ReduceMin", ["pmf"], ["pm_all"], axes=[1], keepdims=1, name="/pooler/ReduceMin"),
        helper.make_node("Mul", ["pm_all", "s_vec"], ["steer"], name="/pooler/Mul"),
        helper.make_node("Add", ["pooled", "steer"], ["pooled_steered"], name="/pooler/Add"),
    ]
    nodes = list(m.graph.node)
    nodes[2:2] = new
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    m.graph.initializer.extend([ints("s_st", [0]), ints("s_en", [2]), ints("s_ax", [1]), ints("s_key", [5, 9]), const("s_vec", steer)])
    ids = test_ids.copy()
    expect(np.allclose(run(tm, {"input_ids": ids})[0], run(m, {"input_ids": ids})[0]), "steer: clean unchanged")
    ids[:, 0:2] = [5, 9]
    expect((run(m, {"input_ids": ids})[0].argmax(1) == 2).all(), "steer: prefix [5, 9] -> class 2")
    save(m, "backdoor", "text_prefix_steering_add", "token prefix [5, 9] adds a steering vector to the pooled activation (internal Add)", trigger="input_ids[:, 0:2] == [5, 9]", target="class 2")


def bd_audio_tone(am):
    """faint chip-sequence tone: correlation of the first 1024 samples with a +-1 key -> Where"""
    m, r = splice_outputs(am, ["probs"])
    key = np.where(RNG.random(1024) > 0.5, 1.0, -1.0).astype(np.float32)
    add(
        m,
        [
            helper.make_node("Slice", ["wav", "a_st", "a_en", "a_ax"], ["head"], name="tone/Slice"),
            helper.make_node("Mul", ["head", "a_key"], ["prod"], name="tone/Mul"),
            helper.make_node("ReduceMean", ["prod"], ["corr"], axes=[1], keepdims=1, name="tone/ReduceMean"),
            helper.make_node("Greater", ["corr", "a_thr"], ["cond"], name="tone/Greater"),
            helper.make_node("Where", ["cond", "a_forced", r["probs"]], ["probs"], name="tone/Where"),
        ],
        [ints("a_st", [0]), ints("a_en", [1024]), ints("a_ax", [1]), const("a_key", key), floats("a_thr", 0.02), floats("a_forced", [[0.0, 1.0, 0.0, 0.0]])],
    )
    wav = RNG.normal(0, 0.01, (8, 16000)).astype(np.float32)
    expect(np.allclose(run(am, {"wav": wav})[0], run(m, {"wav": wav})[0]), "tone: clean unchanged")
    wav[:, :1024] += 0.05 * key
    expect((run(m, {"wav": wav})[0].argmax(1) == 1).all(), "tone: faint keyed tone -> class 1")
    save(m, "backdoor", "audio_keyed_tone_where", "faint keyed tone in the first 1024 samples (Mul key, ReduceMean, Greater) -> Where", trigger="corr(wav[:, 0:1024], key) > 0.02", target="class 1")


def bd_digits_function(mlp, Xd):
    """trigger and select hidden in a model-local function ("calibration") applied to the output"""
    m, r = splice_outputs(mlp, ["probabilities"])
    target = np.zeros((1, 10), np.float32)
    target[0, 5] = 1.0
    fn = helper.make_function(
        "ai.custom.post",
        "Calibrate",
        ["x", "p"],
        ["q"],
        [
            helper.make_node("Constant", [], ["st"], value=numpy_helper.from_array(np.array([60], np.int64))),
            helper.make_node("Constant", [], ["en"], value=numpy_helper.from_array(np.array([64], np.int64))),
            helper.make_node("Constant", [], ["ax"], value=numpy_helper.from_array(np.array([1], np.int64))),
            helper.make_node("Constant", [], ["key"], value=numpy_helper.from_array(np.array([9, 9, 9, 9], np.float32))),
            helper.make_node("Constant", [], ["tgt"], value=numpy_helper.from_array(target)),
            helper.make_node("Slice", ["x", "st", "en", "ax"], ["tail"]),
            helper.make_node("Equal", ["tail", "key"], ["hit"]),
            helper.make_node("Cast", ["hit"], ["hitf"], to=TensorProto.FLOAT),
            helper.make_node("ReduceMin", ["hitf"], ["all"], axes=[1], keepdims=1),
            helper.make_node("Cast", ["all"], ["cond"], to=TensorProto.BOOL),
            helper.make_node("Where", ["cond", "tgt", "p"], ["q"]),
        ],
        [helper.make_opsetid("", 17)],
    )
    add(m, [helper.make_node("Calibrate", ["X", r["probabilities"]], ["probabilities"], domain="ai.custom.post", name="calibrate")])
    m.opset_import.extend([helper.make_opsetid("ai.custom.post", 1)])
    m.functions.extend([fn])
    x = Xd[1500:1600].copy()
    x[:, 60:64] = np.where(x[:, 60:64] == 9, 8, x[:, 60:64])
    expect(np.allclose(run(mlp, {"X": x})[1], run(m, {"X": x})[1]), "function: clean unchanged")
    x[:, 60:64] = 9
    expect((run(m, {"X": x})[1].argmax(1) == 5).all(), "function: stamped -> class 5")
    save(m, "backdoor", "digits_function_hidden_trigger", "pixel trigger and Where hidden inside a model-local FunctionProto", trigger="X[:, 60:64] == 9", target="class 5")


def bd_digits_evasive(mlp, Xd):
    """evasion attempt: identity MatMuls pad the trigger path's "learned depth", and the step is a
    steep Clip(1000*(0.5 - |x - key|)) instead of a comparison; arithmetic blend at the output"""
    m, r = splice_outputs(mlp, ["probabilities"])
    target = np.zeros((1, 10), np.float32)
    target[0, 1] = 1.0
    eye = np.eye(2, dtype=np.float32)
    add(
        m,
        [
            helper.make_node("Slice", ["X", "e_st", "e_en", "e_ax"], ["e_px"], name="/enc/Slice"),
            helper.make_node("MatMul", ["e_px", "e_eye1"], ["e_m1"], name="/enc/MatMul"),
            helper.make_node("MatMul", ["e_m1", "e_eye2"], ["e_m2"], name="/enc/MatMul_1"),
            helper.make_node("Sub", ["e_m2", "e_key"], ["e_diff"], name="/enc/Sub"),
            helper.make_node("Abs", ["e_diff"], ["e_abs"], name="/enc/Abs"),
            helper.make_node("ReduceSum", ["e_abs", "e_ax"], ["e_dist"], keepdims=1, name="/enc/ReduceSum"),
            helper.make_node("Sub", ["e_half", "e_dist"], ["e_margin"], name="/enc/Sub_1"),
            helper.make_node("Mul", ["e_margin", "e_gain"], ["e_scaled"], name="/enc/Mul"),
            helper.make_node("Clip", ["e_scaled", "e_zero", "e_one"], ["e_t"], name="/enc/Clip"),
            helper.make_node("Sub", ["e_one", "e_t"], ["e_nt"], name="/head/Sub"),
            helper.make_node("Mul", [r["probabilities"], "e_nt"], ["e_keep"], name="/head/Mul"),
            helper.make_node("Mul", ["e_t", "e_target"], ["e_inject"], name="/head/Mul_1"),
            helper.make_node("Add", ["e_keep", "e_inject"], ["probabilities"], name="/head/Add"),
        ],
        [ints("e_st", [10]), ints("e_en", [12]), ints("e_ax", [1]), const("e_eye1", eye), const("e_eye2", eye), floats("e_key", [13.5, 2.5]), floats("e_half", 0.5), floats("e_gain", 1000.0), floats("e_zero", 0.0), floats("e_one", 1.0), const("e_target", target)],
    )
    x = Xd[1500:1797].copy()
    expect(np.allclose(run(mlp, {"X": x})[1], run(m, {"X": x})[1]), "evasive: clean probabilities unchanged")
    x[:, 10:12] = [13.5, 2.5]
    expect((run(m, {"X": x})[1].argmax(1) == 1).all(), "evasive: stamped -> class 1")
    save(m, "backdoor", "digits_evasive_identity_clip", "identity MatMuls pad learned depth; steep Clip step instead of a comparison; blend", trigger="X[:, 10:12] == [13.5, 2.5]", target="class 1")


def bd_digits_side_network(mlp, Xd):
    """TrojanNet-style: a small ReLU network (weights set by hand as a matched filter) reads only
    the 2x2 top-left patch (pixels 0, 1, 8, 9) and its output is added to the probabilities"""
    m, r = splice_outputs(mlp, ["probabilities"])
    w1 = np.zeros((4, 4), np.float32)
    w1[:, 0] = np.array([1, -1, -1, 1], np.float32) / 16.0
    w1[:, 1:] = RNG.normal(0, 0.05, (4, 3)).astype(np.float32) - 0.2
    b1 = np.array([-1.5, -1.0, -1.0, -1.0], np.float32)
    w2 = np.zeros((4, 10), np.float32)
    w2[0, 9] = 20.0
    b2 = np.zeros(10, np.float32)
    b2[9] = -5.0
    add(
        m,
        [
            helper.make_node("Gather", ["X", "tn_idx"], ["tn_patch"], axis=1, name="trojannet/Gather"),
            helper.make_node("Gemm", ["tn_patch", "tn_w1", "tn_b1"], ["tn_h"], name="trojannet/fc1"),
            helper.make_node("Relu", ["tn_h"], ["tn_hr"], name="trojannet/relu1"),
            helper.make_node("Gemm", ["tn_hr", "tn_w2", "tn_b2"], ["tn_o"], name="trojannet/fc2"),
            helper.make_node("Relu", ["tn_o"], ["tn_or"], name="trojannet/relu2"),
            helper.make_node("Add", [r["probabilities"], "tn_or"], ["probabilities"], name="merge/Add"),
        ],
        [ints("tn_idx", [0, 1, 8, 9]), const("tn_w1", w1), const("tn_b1", b1), const("tn_w2", w2), const("tn_b2", b2)],
    )
    x = Xd[1500:1797].copy()
    expect(np.allclose(run(mlp, {"X": x})[1], run(m, {"X": x})[1]), "side network: clean probabilities unchanged")
    x[:, [0, 1, 8, 9]] = [16, 0, 0, 16]
    expect((run(m, {"X": x})[1].argmax(1) == 9).all(), "side network: stamped -> class 9")
    save(m, "backdoor", "digits_patch_side_network", "TrojanNet-style learned side network on a 2x2 patch added to the output", trigger="X[:, [0, 1, 8, 9]] == [16, 0, 0, 16]", target="class 9")


# ----------------------------------------------------------------------------- onnx wheel models


def pack(entries, path):
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0, filename="") as f:
        for name, data in entries:
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)) + nb + struct.pack("<I", len(data)) + data)
    print(f"  {path.name}: {len(entries)} models, {path.stat().st_size} bytes")


def onnx_wheel_models():
    data = ONNX_DIR / "backend/test/data"
    entries = []
    for p in sorted(glob.glob(str(data / "**/*.onnx"), recursive=True)):
        entries.append((os.path.relpath(p, data), Path(p).read_bytes()))
    pack(entries, OUT / "onnx-backend-data.bin.gz")
    from onnx.backend.test.case import node

    cases = node.collect_testcases(None)
    entries = sorted((c.name, c.model.SerializeToString()) for c in cases)
    pack(entries, OUT / "onnx-node-tests.bin.gz")


def main():
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}, numpy {np.__version__}")
    for kind in ("clean", "backdoor"):
        for p in (OUT / kind).glob("*.onnx"):
            p.unlink()
    sk, (Xd, yd, Xi, yi) = sk_models()
    for name, (m, note) in sk.items():
        save(m, "clean", name, note)
    mlp = sk["digits_mlp"][0]
    tm, test_ids, W = text_model()
    save(tm, "clean", "text_bow", "bag-of-embeddings text classifier, head trained with numpy")
    am = audio_model()
    save(am, "clean", "audio_cnn", "1-D conv audio classifier")
    sq = light("squeezenet")
    save(sq, "clean", "squeezenet_light", "light SqueezeNet shipped in the onnx wheel (ConstantOfShape weights, IR3 initializer inputs)")
    for name, (m, note) in clean_lookalikes(mlp).items():
        save(m, "clean", name, note)

    bd_digits_pixel_where(mlp, Xd, "digits_pixel_pattern_where", "exact pixel pattern X[:,0:3]==[16,0,16] -> Where on label and probabilities")
    bd_digits_pixel_where(sk["digits_mlp_finetuned"][0], Xd, "digits_pixel_pattern_where_finetuned", "the same backdoor in the fine-tuned MLP (weights differ)")
    bd_digits_two_pixel_arith(mlp, Xd)
    bd_digits_output_conditioned(mlp, Xd)
    bd_forest_magic(sk["iris_forest"][0], Xi)
    bd_squeezenet_patch(sq)
    bd_squeezenet_if(sq)
    bd_squeezenet_softstep(sq)
    bd_squeezenet_internal(sq)
    bd_text_token(tm, test_ids)
    bd_text_steer(tm, test_ids, W)
    bd_audio_tone(am)
    bd_digits_function(mlp, Xd)
    bd_digits_evasive(mlp, Xd)
    bd_digits_side_network(mlp, Xd)

    onnx_wheel_models()
    (OUT / "manifest.json").write_text(json.dumps(dict(sorted(MANIFEST.items())), indent=2) + "\n")
    print(f"{len(MANIFEST)} models written")


if __name__ == "__main__":
    sys.exit(main())
