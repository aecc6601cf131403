"""route_batch: route a batch of questions with a registered router (the champion by default)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

from zenml import log_metadata, step

import materializers  # noqa: F401 - registers the RGD materializers with ZenML
from rgd.config.aliases import CHAMPION, DEFAULT_MODEL_NAME


@step(enable_cache=False)
def route_batch(questions: list[str], model_name: str = DEFAULT_MODEL_NAME, alias: str = CHAMPION,
                version: Optional[str] = None, k: int = 3, tracking_uri: Optional[str] = None
                ) -> Annotated[list[dict[str, Any]], "routes"]:
    import json

    import pandas as pd

    from rgd.tracking import configure_mlflow
    from rgd.tracking.model_files import load_verified

    configure_mlflow(tracking_uri)
    uri = f"models:/{model_name}/{version}" if version else f"models:/{model_name}@{alias}"
    # every file of the version is checked against its registered digest before MLflow reads any of it
    model = load_verified(model_name, version=version, alias=None if version else alias)
    frame = model.predict(pd.DataFrame({"question": list(questions)}), params={"k": k})
    routes = [{"question": q, "models": json.loads(row["models"]), "top1": row["top1"], "subject": row["subject"]}
              for q, (_, row) in zip(questions, frame.iterrows())]
    log_metadata(metadata={"model_uri": uri, "n_questions": len(routes)})
    return routes
