"""The proxy's API from Python: a request, tokenization, and the account's usage.

CRFM_EVAL_ADMIN_KEY=secret python -m crfm_eval.proxy &          # start a local proxy on :1959
CRFM_EVAL_API_KEY=secret python demo.py [--url http://127.0.0.1:1959] [--model simple/deterministic]
"""

import argparse
import json
import os
import sys

import requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:1959")
    parser.add_argument("--model", default="simple/deterministic")
    args = parser.parse_args()
    api_key = os.environ.get("CRFM_EVAL_API_KEY")
    if not api_key:
        sys.exit("Set CRFM_EVAL_API_KEY to your proxy account's key.")
    headers = {"Authorization": f"Bearer {api_key}"}

    info = requests.get(f"{args.url}/api/general_info", timeout=30).json()
    print("Models:", ", ".join(model["name"] for model in info["models"]))

    request = {
        "model": args.model,
        "prompt": "Q: Is water wet?\nA: Yes\n\nQ: Is fire cold?\nA: No\n\nQ: Is ice cold?\nA:",
        "temperature": 0.0,
        "max_tokens": 5,
        "stop_sequences": ["\n"],
        "top_k_per_token": 2,
    }
    response = requests.post(f"{args.url}/api/request", json={"request": request}, headers=headers, timeout=300)
    response.raise_for_status()
    result = response.json()
    completion = result["completions"][0]
    print(f"Completion: {completion['text']!r} (logprob {completion['logprob']:.3f}, cached: {result['cached']})")
    for token in completion["tokens"]:
        print(f"  token {token['text']!r}: logprob {token['logprob']:.3f}, top {token['top_logprobs']}")

    tokens = requests.post(
        f"{args.url}/api/tokenize", json={"model": args.model, "text": request["prompt"]}, headers=headers, timeout=60
    ).json()
    print(f"The prompt is {tokens['num_tokens']} tokens: {tokens['tokens'][:8]} ...")

    account = requests.get(f"{args.url}/api/account", headers=headers, timeout=30).json()
    print(
        "Account:",
        account["username"],
        "usage:",
        json.dumps(account["usage"]),
        "quotas:",
        json.dumps(account["quotas"]),
    )


if __name__ == "__main__":
    main()
