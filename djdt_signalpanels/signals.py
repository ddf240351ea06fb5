"""The event vocabulary: signals that the bundled panels record.

Send them from your own code, or let an integration send them. Argument names
follow the OpenTelemetry semantic conventions where those name the thing.
"""

from __future__ import annotations

from django.dispatch import Signal

feature_flag_evaluated = Signal()
"""A feature flag was evaluated (OpenTelemetry ``feature_flag.*``).

Keyword arguments:

``name`` (str, required)
    The flag's key (``feature_flag.key``).
``result`` (required)
    The evaluated value: usually a bool, or a variant's value.
``variant`` (str, optional)
    The variant's name (``feature_flag.result.variant``).
``reason`` (str, optional)
    Why this result: ``"static"``, ``"targeting_match"``, ``"default"``,
    ``"disabled"``, ``"error"``... (``feature_flag.result.reason``).
``provider`` (str, optional)
    What evaluated it, such as a library name (``feature_flag.provider.name``).
``kind`` (str, optional)
    What was checked when the provider has several kinds, such as waffle's
    ``"flag"``, ``"switch"`` and ``"sample"``.
``source`` (str, optional)
    Where the flag is defined, such as ``"settings"`` or ``"database"``.

The integrations also send ``conditions`` (django-flags: each condition and
its result) and ``error_type`` (when a check raised); any other keyword
argument is shown in a row's details.

Example::

    feature_flag_evaluated.send(sender=None, name="new-checkout", result=True,
                                reason="targeting_match")
"""

elasticsearch_query = Signal()
"""An Elasticsearch request finished (sent by the elasticsearch-py integration).

Keyword arguments (all but ``method`` and ``path`` may be missing or ``None``):

``method`` (str)
    The HTTP method, such as ``"POST"``.
``path`` (str)
    The request path with its query string, such as ``"/products/_search"``.
``index`` (str)
    The index or indices named by the path.
``body``
    The request body as sent (a dict, a list for bulk requests, or text).
``status`` (int)
    The HTTP status of the response.
``duration`` (float)
    Milliseconds from sending the request to having the response.
``took`` (int)
    Milliseconds Elasticsearch reports it spent (``took`` in the response).
``hits`` (int)
    Total hits reported by a search response.
``error`` (str)
    The error's type and message when the request failed.
"""

llm_call = Signal()
"""A call to a large language model API finished (OpenTelemetry ``gen_ai.*`` names).

Keyword arguments (only ``provider`` and ``operation`` are always given):

``provider`` (str)
    ``gen_ai.provider.name``: ``"openai"``, ``"anthropic"``...
``operation`` (str)
    ``gen_ai.operation.name``: ``"chat"``, ``"embeddings"``...
``request_model`` / ``response_model`` (str)
    ``gen_ai.request.model`` and ``gen_ai.response.model``.
``input_tokens`` / ``output_tokens`` (int)
    ``gen_ai.usage.input_tokens`` and ``gen_ai.usage.output_tokens``.
``cached_tokens`` / ``reasoning_tokens`` (int)
    Cached input tokens and reasoning output tokens, when the API reports them.
``finish_reasons`` (list of str)
    ``gen_ai.response.finish_reasons``.
``duration`` (float)
    Milliseconds from the call to its last byte (for streams: the end of the stream).
``time_to_first_chunk`` (float)
    Milliseconds to the first chunk of a streamed response.
``stream`` (bool)
    Whether the response was streamed.
``error_type`` (str)
    ``error.type``: the exception's class name when the call failed.
``input_preview`` / ``output_preview`` (str)
    The start of the last input message and of the answer, only when previews are
    turned on (``DJDT_SIGNALPANELS["LLM_PREVIEWS"]``).

API keys and authorization headers are never sent.
"""
