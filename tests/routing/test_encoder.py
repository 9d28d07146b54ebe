"""The live router's sentence embeddings, run where Rasa runs them (the bot runtime, Python
3.10): the same vectors as the model's reference implementation, from files that are checked
before they are used, on one thread, and recomputed only for texts that changed.

Each test runs a short program in ``.venv-bot`` (numpy, tokenizers and the model live there,
not in the plugin's environment) and reads the JSON it prints.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, _needs_rasa

pytestmark = [pytest.mark.rasa]

BOT_PYTHON = ROOT / ".venv-bot/bin/python"

#: Computed once from the same files by the reference implementation, Hugging Face
#: transformers 5.25.0 (``AutoModel``, BertModel) on torch 2.13.0+cpu, mean-pooled over the
#: attention mask and normalised as sentence-transformers does for this model; torch is not in
#: this project. The first six numbers of each embedding, and the texts' cosines.
TEXTS = [
    "Where is my order #4521?",
    "is anything left on the voucher I got for christmas",
    "Café Zürich, naïve résumé ☕",
    "word " * 400,  # cut at 256 tokens, as the model was trained
]
REFERENCE_HEADS = [
    [-0.033812, 0.021192, 0.068489, -0.020854, 0.003222, 0.018627],
    [-0.053038, 0.042462, -0.010145, -0.042785, 0.024553, 0.042769],
    [-0.029985, 0.040207, 0.059534, 0.026149, 0.074256, 0.045237],
    [-0.008124, -0.095586, -0.038673, 0.049662, -0.043794, 0.02372],
]
REFERENCE_COSINES = [
    [1.0, 0.207962, 0.104865, -0.018781],
    [0.207962, 1.0, 0.044153, 0.093288],
    [0.104865, 0.044153, 1.0, 0.006452],
    [-0.018781, 0.093288, 0.006452, 1.0],
]


def in_bot(program: str, env: dict[str, str] | None = None) -> Any:
    """Run ``program`` in the bot runtime from the project's root; the JSON of its last line."""
    _needs_rasa()
    done = subprocess.run(
        [str(BOT_PYTHON), "-c", textwrap.dedent(program)],
        cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_embeddings_are_the_reference_implementations() -> None:
    result = in_bot(
        f"""
        import json, sys
        import numpy as np
        from routing._encoder import Encoder
        encoder = Encoder()
        texts = {TEXTS!r}
        together = encoder.encode(texts)
        alone = np.concatenate([encoder.encode([text]) for text in texts])
        print(json.dumps({{
            "heads": together[:, :6].tolist(),
            "cosines": (together @ together.T).tolist(),
            "norms": np.linalg.norm(together, axis=1).tolist(),
            "apart": float(np.abs(together - alone).max()),
            "imported": sorted(m for m in sys.modules if m.startswith("gt_all")),
        }}))
        """
    )
    for ours, reference in [
        *zip(result["heads"], REFERENCE_HEADS, strict=True),
        *zip(result["cosines"], REFERENCE_COSINES, strict=True),
    ]:
        assert ours == pytest.approx(reference, abs=2e-6)
    assert result["norms"] == pytest.approx([1.0] * 4, abs=1e-5)
    assert result["apart"] < 1e-5  # texts side by side are embedded as each alone
    assert result["imported"] == []  # the package that carries the files is data only


def model_files() -> Path:
    return Path(
        in_bot(
            """
            import json
            from routing._encoder import model_directory
            print(json.dumps(str(model_directory())))
            """
        )
    )


def refusal(directory: Path) -> str | None:
    """What loading the encoder from ``directory`` says, if it refuses."""
    result = in_bot(
        """
        import json
        from routing._encoder import Encoder, ModelFilesError
        try:
            Encoder()
        except ModelFilesError as exc:
            print(json.dumps(str(exc)))
        else:
            print(json.dumps(None))
        """,
        env={"WEBHOOKS_ROUTING_MODEL_DIR": str(directory)},
    )
    return None if result is None else str(result)


@pytest.fixture
def copied_model(tmp_path: Path) -> Path:
    """The installed model's files, copied where a test may change them."""
    source = model_files()
    target = tmp_path / "model"
    shutil.copytree(source, target)
    assert refusal(target) is None  # an exact copy is accepted, from the setting's directory
    return target


@pytest.mark.slow
def test_a_changed_weight_is_refused(copied_model: Path) -> None:
    weights = copied_model / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one weight
    weights.write_bytes(bytes(data))
    said = refusal(copied_model) or ""
    assert "model.safetensors" in said
    assert "is not the pinned file" in said
    assert "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db" in said


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tokenizer.json", "config.json", "1_Pooling/config.json"])
def test_a_changed_or_missing_file_is_refused(copied_model: Path, name: str) -> None:
    path = copied_model / name
    path.write_bytes(path.read_bytes().replace(b"{", b"{ ", 1))
    assert f"{name} in {copied_model} is not the pinned file" in (refusal(copied_model) or "")
    path.unlink()
    assert f"cannot read the routing model's {name}" in (refusal(copied_model) or "")


def test_a_message_is_embedded_on_one_thread_and_only_new_texts_are() -> None:
    result = in_bot(
        """
        import json
        from threadpoolctl import threadpool_info
        from routing._encoder import Encoder
        from routing._matcher import Embeddings
        from routing._table import build_table

        encoder = Encoder()
        calls, threads = [], []
        forward = encoder._forward

        def blas_threads():
            return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

        def spy(sequences):
            calls.append(len(sequences))
            threads.append(blas_threads())
            return forward(sequences)

        before = blas_threads()
        encoder._forward = spy
        embeddings = Embeddings(encoder)
        paraphrase = "how much credit remains for this voucher from grandma?"

        def table(description, version):
            return build_table({"version": version, "actions": [
                {"name": "gift_card_balance", "description": description,
                 "examples": ["what's left on my gift card", "gift card balance"]},
                {"name": "order_status", "description": "Look up the status of an order",
                 "examples": ["where is my order"]},
            ]}, {}, ["hello", "thanks"], embeddings)

        first = table("Check the balance of a gift card", 1)
        built = sum(calls)
        match = first.matcher.match(paraphrase)
        calls.clear()
        second = table("Tell what is left on a gift card", 2)
        print(json.dumps({
            "built": built, "rebuilt": sum(calls), "cached": len(embeddings),
            "threads": sorted(set(threads)), "before": before, "after": blas_threads(),
            "match": [match.action, match.score, match.negative],
            "again": second.matcher.match(paraphrase).action,
        }))
        """,
        env={"OPENBLAS_NUM_THREADS": "2"},
    )
    # Names, descriptions and examples of two actions ("gift card balance" is both a name and an
    # example) and two counter-examples: 8 texts; then only the changed description, the old one
    # forgotten.
    assert result["built"] == 8
    assert result["rebuilt"] == 1
    assert result["cached"] == 8
    assert result["threads"] == [1]
    assert result["before"] == result["after"] == 2  # held to one only while the router runs
    action, score, negative = result["match"]
    assert action == "gift_card_balance"
    assert score > negative
    assert result["again"] == "gift_card_balance"


#: For the programs below: an encoder whose forward passes record, in ``order``, whose turn each
#: was ("message": one short text; "table": the 40 texts of ``texts``) and its tokens, after
#: calling ``before_turn()``.
TURNS = """
import json, threading, time
from routing._encoder import Encoder, TOKENS_PER_TURN

encoder = Encoder()
order = []
forward = encoder._forward
before_turn = lambda: None

def spy(sequences):
    tokens = sum(len(ids) for ids in sequences)
    order.append(("message" if len(sequences) == 1 and tokens < 20 else "table", tokens))
    before_turn()
    return forward(sequences)

encoder._forward = spy
texts = [f"a description of action number {i} with a few more words" for i in range(40)]
"""


def test_a_message_goes_before_the_rest_of_a_table_being_embedded() -> None:
    result = in_bot(
        TURNS
        + textwrap.dedent(
            """
        def before_turn():
            if len(order) == 1:  # the table's first turn: let the message queue up behind it
                deadline = time.monotonic() + 10
                while encoder._urgent == 0 and time.monotonic() < deadline:
                    time.sleep(0.01)

        table = threading.Thread(target=encoder.encode, args=(texts,))
        table.start()
        while not order:
            time.sleep(0.001)
        encoder.encode(["where is my order?"], urgent=True)
        table.join()
        print(json.dumps({"order": order, "budget": TOKENS_PER_TURN}))
        """
        )
    )
    kinds = [kind for kind, _ in result["order"]]
    assert kinds[:2] == ["table", "message"]  # after the turn in progress, before the rest
    assert kinds.count("message") == 1
    assert len(kinds) > 4  # the table took several turns
    assert all(tokens <= result["budget"] for kind, tokens in result["order"] if kind == "table")


def test_a_match_says_how_like_an_answer_to_each_actions_questions_a_message_is() -> None:
    result = in_bot(
        """
        import json
        from routing._encoder import shared_encoder
        from routing._matcher import Embeddings
        from routing._table import build_table

        table = build_table({"version": 1, "actions": [
            {"name": "gift_card_balance", "description": "Check the balance of a gift card",
             "examples": ["how much is left on my gift card"],
             "questions": ["the gift card number"]},
            {"name": "opening_hours", "description": "Tell the opening hours of a store",
             "examples": ["when do you open"], "questions": ["the city of the store"]},
            {"name": "daily_offers", "description": "List today's offers"},
        ]}, {}, ["hello"], Embeddings(shared_encoder()))
        match = table.matcher.match("the number on the back of my card is 9001 2233 4455")
        print(json.dumps({"scores": match.scores, "answers": match.answers,
                          "texts": len(table.matcher.texts)}))
        """
    )
    answers, scores = result["answers"], result["scores"]
    assert set(answers) == {"gift_card_balance", "opening_hours"}  # no questions, no score
    assert answers["gift_card_balance"] > answers["opening_hours"]
    # Nearer the question's object than any request for the action.
    assert answers["gift_card_balance"] > scores["gift_card_balance"]
    assert result["texts"] == 11  # 3 names, 3 descriptions, 2 examples, 2 questions, 1 other


def test_a_lone_surrogate_is_matched_not_raised_and_the_encoder_is_shared() -> None:
    result = in_bot(
        """
        import json
        from routing._encoder import shared_encoder
        from routing._matcher import Embeddings, Matcher

        encoder = shared_encoder()
        matcher = Matcher({"order_status": ["where is my order"]}, ["hello"], Embeddings(encoder))
        match = matcher.match("where is my order \\ud800?")
        print(json.dumps({"action": match.action, "same": shared_encoder() is encoder}))
        """
    )
    assert result == {"action": "order_status", "same": True}


def test_a_stream_of_messages_does_not_hold_a_table_back() -> None:
    result = in_bot(
        TURNS
        + textwrap.dedent(
            """
        done = threading.Event()

        def chat():
            while not done.is_set():
                encoder.encode(["where is my order?"], urgent=True)

        users = [threading.Thread(target=chat) for _ in range(3)]
        for user in users:
            user.start()
        while sum(kind == "message" for kind, _ in order) < 10:  # the flood is on
            pass
        encoder.encode(texts)
        done.set()
        for user in users:
            user.join()
        print(json.dumps([kind for kind, _ in order]))
        """
        )
    )
    first = result.index("table")
    last = len(result) - 1 - result[::-1].index("table")
    during = result[first : last + 1]
    assert during.count("table") > 4
    # Between two turns of the table, one message at most: they alternate.
    assert all(not (a == b == "message") for a, b in pairwise(during))
