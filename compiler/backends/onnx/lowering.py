"""The ONNX lowering table: how each op is written as ONNX nodes. A rule is

    @ONNX_TABLE.lowering("matmul")
    def _matmul(b, node, a, x):        # b: the OnnxBuilder; a, x: the inputs' value names
        return b.op("MatMul", a, x)    # the name of the value holding the node's result

and must give graphflow's values exactly (the tests compare ONNX Runtime's outputs with the
session's for every rule). Rules live in this package's family modules (elementwise.py,
reduce.py, shape.py, indexing.py, nn.py, conv.py); an op with no rule cannot be exported, and
the error names it, its node and where the user made it. Ops that only training uses
(assignments, random draws, summaries, collectives) have no rule on purpose.
"""

from ..lowering import LoweringTable

ONNX_TABLE = LoweringTable(
    "onnx", instead="export only the inference part of the graph (no training, random or "
                    "summary ops), or say which op is missing in an issue")
