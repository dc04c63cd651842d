"""The behaviour model: features, training, safe loading, scoring and explanation.

``models.features`` is pure and imported by the detection core; the rest
(training, scoring, evaluation) is imported only by the commands and drivers
that need scikit-learn.
"""
