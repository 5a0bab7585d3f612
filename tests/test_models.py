"""helpers.models: the seed's linear model and the CNN, their shapes, seeding and input checks."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import tensorflow as tf

from helpers import models


def test_models_shapes_and_seeded_init() -> None:
    x = tf.random.stateless_uniform([3, 784], seed=[1, 2])
    assert models.linear_model()(x).shape == (3, 10)
    assert all(float(tf.reduce_sum(tf.abs(w))) == 0.0 for w in models.linear_model().weights), "zero init"
    assert models.cnn_model()(x).shape == (3, 10)
    np.testing.assert_array_equal(models.cnn_model(seed=1)(x), models.cnn_model(seed=1)(x))


def test_a_model_whose_input_does_not_match_the_data_is_named() -> None:
    import collections

    from helpers.models import cnn_model, linear_model, make_model_fn

    images = tf.data.Dataset.from_tensor_slices(
        collections.OrderedDict(x=np.zeros((4, 28, 28), np.float32), y=np.zeros((4, 1), np.int32))
    ).batch(2)
    for build in (linear_model, cnn_model):
        with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, 784\).*\(None, 28, 28\).*preprocess"):
            make_model_fn(build, images.element_spec)
    with pytest.raises(ValueError, match="Expected an input_spec with 'x' and 'y'"):
        make_model_fn(linear_model, tf.TensorSpec((None, 784)))
