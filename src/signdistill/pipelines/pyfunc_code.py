"""The code of a logged recogniser (MLflow models-from-code, ``pipelines.mlflow_model``): names the model class,
so that loading the MLflow model imports this project's code instead of unpickling an object."""

from mlflow.models import set_model

from signdistill.pipelines.mlflow_model import GlossRecognizer

set_model(GlossRecognizer())
