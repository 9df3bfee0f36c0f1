"""The README quickstart: a tiny graph, its gradients, and a session."""

import numpy as np

import graphflow as gf

x = gf.placeholder(gf.float32, shape=(None, 3), name="x")       # None: any batch size
w = gf.Variable(np.full((3, 1), 0.5, np.float32), name="w")
b = gf.Variable(np.zeros(1, np.float32), name="b")
loss = gf.reduce_mean(gf.square(x @ w + b - 1.0), name="loss")

dw, db = gf.gradients(loss, [w, b])          # new graph nodes, not numbers
train = gf.group(w.assign_sub(0.1 * dw), b.assign_sub(0.1 * db))

with gf.Session() as sess:
    data = np.eye(3, dtype=np.float32)
    for _ in range(50):
        value, _ = sess.run([loss, train], feed_dict={x: data})
    print(f"loss after 50 steps: {value:.6f}")
    params = sess.run({"w": w, "b": b})        # fetches can be any nest of lists/tuples/dicts
    print(params)
