"""Method `language_modeling`: the log-likelihood of each eval instance's input, a document.

A document longer than the context window is split into windows, as lm-evaluation-harness's
`loglikelihood_rolling` does (and HELM's language modeling adapter): every token is scored exactly
once, by one log-likelihood request whose continuation is the window's text and whose context is
the text just before it, as much as fits beside the window. The first window has an empty
context (the model conditions on its BOS or end-of-text token); a full later window gets one token
of context, and the last window as many as fit. References, in-context examples and the prompt
pieces are not used.

Windows are cut on the model's own tokens, with a small margin (1/64 of the window) because the
client tokenizes each window's context and continuation apart, which can take a token or two more.
"""

import logging

from crfm_eval.adaptation.adapter import EFFICIENCY, Adapter, metric_spec
from crfm_eval.adaptation.fitting import FittedPrompt
from crfm_eval.errors import UserError
from crfm_eval.states import Instance, Request, RequestState

log = logging.getLogger(__name__)

LANGUAGE_MODELING = metric_spec("language_modeling", "crfm_eval.metrics.language_modeling.LanguageModelingMetric")


class LanguageModelingAdapter(Adapter):
    scores_text = True
    uses_in_context_examples = False
    metric_specs = (EFFICIENCY, LANGUAGE_MODELING)
    requests_per_instance = None  # one per window of the text

    @property
    def window_tokens(self) -> int:
        """Tokens fed to the model per request: the context window less the prefix token and a margin."""
        window = self.max_sequence_length - 1 - max(1, self.max_sequence_length // 64)
        if window < 2:
            raise UserError(f"A context of {self.max_sequence_length} tokens is too small for language modeling.")
        return window

    def request_states(self, instance: Instance, examples: list[Instance], trial: int) -> list[RequestState]:
        # The model's tokens of the document; a BOS token has no text and is left out.
        tokens = [token for token in self.tokenize(instance.input) if token]
        if not tokens:
            log.warning("Instance %s has an empty input: nothing to score.", instance.id)
        window = self.window_tokens
        states = []
        for start in range(0, len(tokens), window - 1):
            end = min(len(tokens), start + window - 1)
            context_start = max(0, end - window)
            context, continuation = "".join(tokens[context_start:start]), "".join(tokens[start:end])
            request = Request(
                model=self.model_spec.name,
                prompt=context,
                continuation=continuation,
                temperature=0.0,
                max_tokens=0,
                top_k_per_token=self.spec.top_k_per_token,
            )
            fitted = FittedPrompt(context, [], end - context_start, truncated=False)
            states.append(self.base_state(instance, trial, fitted, request))
        return states
