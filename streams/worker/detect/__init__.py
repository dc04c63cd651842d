"""The detection stage: the Faust agent that calls the judge and stores its states."""
