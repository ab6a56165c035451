"""The adaptation methods by name: a registry of Adapter class paths (no if/elif chain).

`adaptation.method` is a name below or the class path of any Adapter subclass. Both checks here
run before the scenario is loaded or a request is sent: an unknown method, and a method that
needs log-probabilities of given text on a model whose API cannot give them (chat APIs, AI21).
"""

from crfm_eval.adaptation.adapter import Adapter
from crfm_eval.errors import UserError
from crfm_eval.models.clients.client import Client
from crfm_eval.models.service import Service
from crfm_eval.objects import import_class
from crfm_eval.specs import AdaptationSpec, ModelSpec

ADAPTERS: dict[str, str] = {
    "generation": "crfm_eval.adaptation.generation.GenerationAdapter",
    "multiple_choice_joint": "crfm_eval.adaptation.multiple_choice_joint.MultipleChoiceJointAdapter",
    "multiple_choice_separate_original": "crfm_eval.adaptation.multiple_choice_separate.MultipleChoiceSeparateAdapter",
    "multiple_choice_separate_calibrated": (
        "crfm_eval.adaptation.multiple_choice_calibrated.MultipleChoiceCalibratedAdapter"
    ),
    "language_modeling": "crfm_eval.adaptation.language_modeling.LanguageModelingAdapter",
}


def adapter_class(method: str) -> type[Adapter]:
    """The Adapter of `method` (a registered name or a class path)."""
    if method in ADAPTERS:
        return import_class(ADAPTERS[method], Adapter, "adaptation.method")
    if "." in method:
        return import_class(method, Adapter, "adaptation.method")
    raise UserError(
        f"adaptation.method={method!r} is not a known method; use one of: {', '.join(ADAPTERS)} "
        "(or the class path of an Adapter)."
    )


def check_model_supports(method: str, model_spec: ModelSpec) -> type[Adapter]:
    """The Adapter of `method`, after checking that the model's client can serve what it asks."""
    adapter = adapter_class(method)
    client = import_class(model_spec.client, Client, "model.client")
    if adapter.scores_text and not client.scores_text(model_spec.args):
        supported = [name for name, path in ADAPTERS.items() if not import_class(path, Adapter, name).scores_text]
        raise UserError(
            f"The model {model_spec.name} ({client.__name__}) cannot give the log-probability of a given text, "
            f"which adaptation.method={method} needs; it supports: {', '.join(supported)}."
        )
    return adapter


def create_adapter(spec: AdaptationSpec, model_spec: ModelSpec, service: Service, seed: int) -> Adapter:
    return check_model_supports(spec.method, model_spec)(spec, model_spec, service, seed)
