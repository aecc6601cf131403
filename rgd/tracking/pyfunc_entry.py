"""Models-from-code entry point: MLflow runs this file to build the served model (no pickled object)."""

from mlflow.models import set_model

from rgd.tracking.pyfunc_model import RouterPyfunc

set_model(RouterPyfunc())
