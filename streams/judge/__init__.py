"""The judge: one batch of events through the engine, the model and the folds.

Both drivers call it, the worker's detection stage and ``frtwatch replay``;
nothing else takes events through the engine. No Kafka, no Faust, no I/O.
"""
