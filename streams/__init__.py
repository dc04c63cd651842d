"""frtwatch: real-time detection of facial-recognition search misuse on Apache Kafka."""

__version__ = "0.1.0"
