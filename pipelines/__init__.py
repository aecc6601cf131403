"""The RGD ZenML pipelines: training on generated data (``training``), training from recorded responses
(``recorded``), batch routing (``routing``); ``launch`` builds them from a run-config file, ``scheduling``
schedules them, ``lineage`` answers which generator produced which router from ZenML's and MLflow's records."""
