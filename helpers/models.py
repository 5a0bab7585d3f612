"""The Keras models of the tutorials, and `model_fn` factories that wrap them for TFF."""

from __future__ import annotations

from typing import Any, Callable

import tensorflow as tf
import tensorflow_federated as tff


def linear_model() -> tf.keras.Model:
    """The classic seed model: one zero-initialised softmax layer over 784 pixels."""
    return tf.keras.Sequential(
        [
            tf.keras.layers.InputLayer(input_shape=(784,)),
            tf.keras.layers.Dense(10, activation="softmax", kernel_initializer="zeros"),
        ]
    )


def cnn_model(seed: int = 0) -> tf.keras.Model:
    """A small two-convolution EMNIST CNN (16 and 32 filters), seeded initialisation."""
    init = tf.keras.initializers.GlorotUniform(seed=seed)
    return tf.keras.Sequential(
        [
            tf.keras.layers.InputLayer(input_shape=(784,)),
            tf.keras.layers.Reshape((28, 28, 1)),
            tf.keras.layers.Conv2D(16, 5, activation="relu", kernel_initializer=init),
            tf.keras.layers.MaxPool2D(2),
            tf.keras.layers.Conv2D(32, 5, activation="relu", kernel_initializer=init),
            tf.keras.layers.MaxPool2D(2),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(10, activation="softmax", kernel_initializer=init),
        ]
    )


def make_model_fn(
    build: Callable[[], tf.keras.Model], input_spec: Any
) -> Callable[[], tff.learning.models.VariableModel]:
    """Return a TFF `model_fn` that builds a fresh `build()` model with the tutorials' loss and metric."""
    check_input_spec(build(), input_spec)

    def model_fn() -> tff.learning.models.VariableModel:
        return tff.learning.models.from_keras_model(
            build(),
            input_spec=input_spec,
            loss=tf.keras.losses.SparseCategoricalCrossentropy(),
            metrics=[tf.keras.metrics.SparseCategoricalAccuracy()],
        )

    return model_fn


def check_input_spec(model: tf.keras.Model, input_spec: Any) -> None:
    """Raise a ValueError naming the fix if the data's `x` cannot feed `model` (TFF's own error is opaque)."""
    x = input_spec.get("x") if isinstance(input_spec, dict) else None
    if x is None or not hasattr(x, "shape"):
        raise ValueError(f"Expected an input_spec with 'x' and 'y' (from helpers.data.preprocess), got {input_spec}.")
    expected = tuple(model.input_shape[1:])
    if not tf.TensorShape(x.shape[1:]).is_compatible_with(expected):
        raise ValueError(
            f"The model expects inputs of shape (batch, {', '.join(map(str, expected))}), but the data's 'x' has "
            f"shape {tuple(x.shape)}. Preprocess the clients with helpers.data.preprocess (784 floats per digit), "
            "or change the model's input layer to match."
        )
