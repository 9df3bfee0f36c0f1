"""tf.estimator.Estimator on a tiny linear regression, against plain numpy gradient descent."""

import logging
import os

import numpy as np
import pytest

import graphflow as gf

RNG = np.random.default_rng(0)
X = RNG.normal(size=(10, 3)).astype(np.float32)
Y = (X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype(np.float32)
LR = 0.1


def model_fn(features, labels, mode, params):
    w = gf.get_variable("w", [3, 1], initializer=gf.zeros_initializer())
    b = gf.get_variable("b", [1], initializer=gf.zeros_initializer())
    pred = gf.matmul(features["x"], w) + b
    if mode == gf.estimator.ModeKeys.PREDICT:
        return gf.estimator.EstimatorSpec(mode, predictions={"pred": pred, "double": 2 * pred})
    loss = gf.reduce_mean(gf.square(pred - labels))
    train_op = gf.train.GradientDescentOptimizer(params.get("lr", LR)).minimize(
        loss, global_step=gf.train.get_global_step())
    mae = gf.metrics.mean(gf.abs(pred - labels))
    return gf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op,
                                      eval_metric_ops={"mae": mae})


def full_batch():
    return {"x": gf.constant(X)}, gf.constant(Y)


def numpy_gd(steps, x=X, y=Y):
    """Independent reference: gradient descent on mean squared error, in float64."""
    w, b = np.zeros((3, 1)), np.zeros(1)
    losses = []
    for _ in range(steps):
        err = x @ w + b - y
        losses.append(np.mean(err ** 2))
        w, b = w - LR * 2 * x.T @ err / err.size, b - LR * 2 * np.mean(err)
    return w, b, losses


def make(tmp_path, **config):
    return gf.estimator.Estimator(model_fn, str(tmp_path / "model"), params={"lr": LR},
                                  config=gf.estimator.RunConfig(**config) if config else None)


def test_train_resumes_and_matches_numpy_gradient_descent(tmp_path):
    est = make(tmp_path)
    assert est.train(full_batch, steps=5) is est
    assert est.get_variable_value("global_step") == 5
    est.train(full_batch, steps=5)  # resumes from the checkpoint: 10 steps in all
    w, b, _ = numpy_gd(10)
    assert est.get_variable_value("global_step") == 10
    np.testing.assert_allclose(est.get_variable_value("w"), w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(est.get_variable_value("b"), b, rtol=1e-5, atol=1e-6)
    assert est.get_variable_names() == ["b", "global_step", "w"]


def test_max_steps_is_absolute(tmp_path):
    est = make(tmp_path)
    est.train(full_batch, max_steps=3)
    est.train(full_batch, max_steps=3)  # already there: skipped
    assert est.get_variable_value("global_step") == 3
    est.train(full_batch, max_steps=7)
    np.testing.assert_allclose(est.get_variable_value("w"), numpy_gd(7)[0], rtol=1e-5,
                               atol=1e-6)


def test_checkpoints_at_start_every_n_steps_and_end(tmp_path, caplog):
    est = make(tmp_path, save_checkpoints_steps=2, keep_checkpoint_max=2)
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        est.train(full_batch, steps=5)
    saves = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Saving")]
    path = os.path.join(est.model_dir, "model.ckpt")
    assert saves == [f"Saving checkpoints for {n} into {path}." for n in (0, 2, 4, 5)]
    assert sorted(f for f in os.listdir(est.model_dir) if f.endswith(".npz")) == [
        "model.ckpt-4.npz", "model.ckpt-5.npz"]
    assert est.latest_checkpoint() == os.path.join(est.model_dir, "model.ckpt-5")
    # TF1's Estimator saver writes paths relative to model_dir
    assert open(os.path.join(est.model_dir, "checkpoint")).readline() == (
        'model_checkpoint_path: "model.ckpt-5"\n')


def test_logs_loss_and_step_as_tf1(tmp_path, caplog):
    est = make(tmp_path, log_step_count_steps=2)
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        est.train(full_batch, steps=5)
    _, _, losses = numpy_gd(5)
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("loss = ")]
    assert [m.split(", step = ")[1].split(" ")[0] for m in logged] == ["0", "2", "4"]
    first = float(logged[0].split(",")[0][len("loss = "):])
    assert first == pytest.approx(losses[0], rel=1e-5)
    final = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Loss for")]
    assert len(final) == 1 and final[0].endswith(".")
    assert float(final[0][len("Loss for final step: "):-1]) == pytest.approx(losses[4], rel=1e-5)


def test_evaluate_loss_is_the_mean_over_batches(tmp_path):
    est = make(tmp_path)
    est.train(full_batch, steps=3)
    w, b, _ = numpy_gd(3)
    eval_fn = gf.estimator.inputs.numpy_input_fn({"x": X}, Y, batch_size=4, shuffle=False)
    result = est.evaluate(eval_fn)  # one epoch: batches of 4, 4 and 2
    err = X @ w + b - Y
    batch_losses = [np.mean(err[i:i + 4] ** 2) for i in (0, 4, 8)]
    assert result["loss"] == pytest.approx(np.mean(batch_losses), rel=1e-5)
    assert result["loss"] != pytest.approx(np.mean(err ** 2), rel=1e-5)  # not the pooled mean
    assert result["mae"] == pytest.approx(np.mean(np.abs(err)), rel=1e-5)
    assert result["global_step"] == 3
    assert est.evaluate(full_batch, steps=2)["loss"] == pytest.approx(np.mean(err ** 2), rel=1e-5)


def test_train_stops_at_the_end_of_the_input(tmp_path):
    est = make(tmp_path)
    est.train(gf.estimator.inputs.numpy_input_fn({"x": X}, Y, batch_size=4, num_epochs=1,
                                                 shuffle=False))
    assert est.get_variable_value("global_step") == 3  # ceil(10 / 4) batches


def test_predict_yields_each_example(tmp_path):
    est = make(tmp_path)
    est.train(full_batch, steps=4)
    w, b, _ = numpy_gd(4)
    fn = gf.estimator.inputs.numpy_input_fn({"x": X}, batch_size=3, shuffle=False)
    predictions = list(est.predict(fn))
    assert len(predictions) == 10 and sorted(predictions[0]) == ["double", "pred"]
    np.testing.assert_allclose(np.stack([p["pred"] for p in predictions]), X @ w + b,
                               rtol=1e-5, atol=1e-6)
    only = list(est.predict(fn, predict_keys=["double"]))
    assert sorted(only[0]) == ["double"]
    batches = list(est.predict(fn, yield_single_examples=False))
    assert [len(batch["pred"]) for batch in batches] == [3, 3, 3, 1]


def test_evaluate_without_checkpoint_uses_initial_values(tmp_path, caplog):
    est = make(tmp_path)
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        result = est.evaluate(full_batch, steps=1)
    assert result["loss"] == pytest.approx(np.mean(Y.astype(np.float64) ** 2), rel=1e-5)
    assert "Could not find trained model in model_dir" in caplog.text


def test_model_dir_none_is_a_temporary_directory(caplog):
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        est = gf.estimator.Estimator(model_fn, params={})
    assert os.path.isdir(est.model_dir) and est.model_dir in caplog.text


def test_model_dir_conflicting_with_run_config(tmp_path):
    with pytest.raises(ValueError, match="model_dir are set both"):
        gf.estimator.Estimator(model_fn, str(tmp_path / "a"), params={},
                               config=gf.estimator.RunConfig(model_dir=str(tmp_path / "b")))


def test_hooks_fetch_and_stop(tmp_path):
    seen = []

    class StopAfterTwo(gf.estimator.SessionRunHook):
        def before_run(self, run_context):
            return gf.estimator.SessionRunArgs(gf.train.get_global_step())

        def after_run(self, run_context, run_values):
            seen.append(int(run_values.results))
            if len(seen) == 2:
                run_context.request_stop()

    est = make(tmp_path)
    est.train(full_batch, steps=10, hooks=[StopAfterTwo()])
    assert seen == [0, 1] and est.get_variable_value("global_step") == 2


def test_nan_loss_stops_training(tmp_path):
    est = gf.estimator.Estimator(model_fn, str(tmp_path), params={"lr": 1e30})
    with pytest.raises(gf.estimator.NanLossDuringTrainingError, match="NaN loss"):
        est.train(full_batch, steps=50)


# -- bad input ------------------------------------------------------------------------------------
def spec_fn(**fields):
    def fn(features, labels, mode):
        w = gf.Variable(1.0, name="w")
        loss = gf.reduce_mean(features["x"]) * w
        parts = {"loss": loss, "train_op": gf.train.GradientDescentOptimizer(0.1).minimize(
            loss, global_step=gf.train.get_global_step())}
        return gf.estimator.EstimatorSpec(mode, **{k: parts[k] for k in fields})
    return fn


@pytest.mark.parametrize("fields, missing", [({"loss": 1}, "Missing train_op"),
                                             ({"train_op": 1}, "Missing loss")])
def test_train_spec_without_loss_or_train_op(tmp_path, fields, missing):
    est = gf.estimator.Estimator(spec_fn(**fields), str(tmp_path))
    with pytest.raises(ValueError, match=missing):
        est.train(full_batch, steps=1)


def test_model_fn_must_return_an_estimator_spec(tmp_path):
    est = gf.estimator.Estimator(lambda features, labels: {"loss": 1}, str(tmp_path))
    with pytest.raises(ValueError, match="model_fn should return an EstimatorSpec.*dict"):
        est.train(full_batch, steps=1)


@pytest.mark.parametrize("input_fn, error, match", [
    (lambda: (1, 2, 3), ValueError, "len 2 tuple"),
    (lambda: ({"x": "not a tensor"}, None), TypeError, r"features\['x'\] = 'not a tensor'"),
    (7, TypeError, "input_fn must be a function"),
])
def test_bad_input_fn(tmp_path, input_fn, error, match):
    est = make(tmp_path)
    with pytest.raises(error, match=match):
        est.train(input_fn, steps=1)


def test_bad_model_fn_arguments_and_steps(tmp_path):
    with pytest.raises(ValueError, match="must include features argument"):
        gf.estimator.Estimator(lambda x, labels: None)
    with pytest.raises(ValueError, match="does not include params argument"):
        gf.estimator.Estimator(lambda features: None, str(tmp_path), params={"a": 1})
    with pytest.raises(ValueError, match="not expected args: \\['extra'\\]"):
        gf.estimator.Estimator(lambda features, extra: None, str(tmp_path))
    with pytest.raises(ValueError, match="Can not provide both steps and max_steps"):
        make(tmp_path).train(full_batch, steps=1, max_steps=2)
    with pytest.raises(ValueError, match="shuffle must be provided"):
        gf.estimator.inputs.numpy_input_fn({"x": X}, Y)
    with pytest.raises(ValueError, match="Length of tensors in x and y is mismatched"):
        gf.estimator.inputs.numpy_input_fn({"x": X}, Y[:3], shuffle=False)
    with pytest.raises(ValueError, match="both save_checkpoints_secs and save_checkpoints_steps"):
        gf.estimator.RunConfig(save_checkpoints_steps=1, save_checkpoints_secs=1)


def test_tf1_names():
    assert gf.estimator.ModeKeys.TRAIN == "train" and gf.estimator.ModeKeys.PREDICT == "infer"
    assert gf.compat.v1.estimator.Estimator is gf.estimator.Estimator
    config = gf.estimator.RunConfig()
    assert (config.save_checkpoints_secs, config.save_checkpoints_steps) == (600, None)
    assert (config.keep_checkpoint_max, config.log_step_count_steps) == (5, 100)
