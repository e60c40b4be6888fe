"""Users and per-client permissions on a team tracking server run with MLflow's basic-auth app.

One experiment per client; analysts of a client get EDIT (fit and plan) or MANAGE (also grant
others) on it, viewers READ. Run as the server's admin, credentials from the environment
(never from a flag):

    export MLFLOW_TRACKING_URI=https://mlflow.example.internal
    export MLFLOW_TRACKING_USERNAME=admin MLFLOW_TRACKING_PASSWORD=...
    scripts/team_access add-user alice            # asks for alice's password (or TEAM_USER_PASSWORD)
    scripts/team_access grant alice client-a edit # creates the experiment 'client-a' if it is missing
    scripts/team_access grant bob client-a read
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

PERMISSIONS = {"read": "READ", "edit": "EDIT", "manage": "MANAGE", "none": "NO_PERMISSIONS"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add-user", help="create a user (password from TEAM_USER_PASSWORD or a prompt)")
    add.add_argument("username")
    grant = sub.add_parser("grant", help="give a user a permission on a client's experiment")
    grant.add_argument("username")
    grant.add_argument("experiment", help="the client's experiment (created when missing)")
    grant.add_argument("permission", choices=sorted(PERMISSIONS))
    args = ap.parse_args()

    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri or not os.environ.get("MLFLOW_TRACKING_USERNAME"):
        sys.exit("set MLFLOW_TRACKING_URI to the server and MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD to its admin")

    from mlflow.exceptions import MlflowException

    try:
        _run(args, uri)
    except MlflowException as exc:  # a wrong admin password, a short user password, a user that exists: said in one line
        from mmm.tracking.access import redact

        sys.exit(f"team_access: {redact(exc.message)}")


def _run(args: argparse.Namespace, uri: str) -> None:
    import mlflow
    from mlflow.server import get_app_client

    admin = get_app_client("basic-auth", tracking_uri=uri)
    if args.command == "add-user":
        password = os.environ.get("TEAM_USER_PASSWORD") or getpass.getpass(f"password for {args.username}: ")
        if not password:
            sys.exit("a user needs a password")
        admin.create_user(username=args.username, password=password)
        print(f"user '{args.username}' created")
        return
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(args.experiment)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(args.experiment)
    admin.grant_user_permission(args.username, "experiment", experiment_id, PERMISSIONS[args.permission])
    print(f"'{args.username}' has {PERMISSIONS[args.permission]} on experiment '{args.experiment}' (id {experiment_id})")


if __name__ == "__main__":
    main()
