"""Accounts, API tokens and a report file for the load scenario (bench/load/locustfile.py).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/DB python bench/load/prepare.py -o /tmp/load.json

Idempotent: creates (once) a commander, a viewer and an operator of the county agency with
the most depots, prints nothing secret but writes their API tokens, the operator's agency,
depot codes and a few stock-lot, warning and incident ids to the JSON file the locustfile
reads. Run it against the database gunicorn serves.
"""

import argparse
import json
import sys
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from core import create_app  # noqa: E402
from core.auth import COMMANDER, OPERATOR, VIEWER  # noqa: E402
from core.extensions import db, security  # noqa: E402

PASSWORD = "Load-test-2026!"
ACCOUNTS = {
    "commander": ("load-commander@example.org", COMMANDER),
    "viewer": ("load-viewer@example.org", VIEWER),
    "operator": ("load-operator@example.org", OPERATOR),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="/tmp/emreserve-load.json")
    args = parser.parse_args()
    from flask_security import hash_password

    from core.demo import ensure_roles
    from reserve.models import Depot, Material
    from reserve.stock.models import StockLot
    from reserve.warnings.models import ReserveWarning

    app = create_app({"APP_ENV": "development"})
    with app.app_context():
        ensure_roles()
        agency_id = db.session.execute(
            select(Depot.agency_id)
            .group_by(Depot.agency_id)
            .order_by(func.count().desc(), Depot.agency_id)
            .limit(1)
        ).scalar()
        out = {"password": PASSWORD, "agency_id": agency_id, "tokens": {}, "emails": {}}
        for name, (email, role) in ACCOUNTS.items():
            user = security.datastore.find_user(email=email)
            if user is None:
                user = security.datastore.create_user(
                    email=email,
                    password=hash_password(PASSWORD),
                    roles=[role],
                    agency_id=agency_id if role == OPERATOR else None,
                )
                db.session.commit()
            out["tokens"][name] = user.get_auth_token()
            out["emails"][name] = email
        db.session.commit()
        depots = (
            db.session.execute(
                select(Depot.code)
                .where(Depot.agency_id == agency_id, Depot.status == "active")
                .order_by(Depot.code)
                .limit(5)
            )
            .scalars()
            .all()
        )
        out["depots"] = depots
        out["materials"] = (
            db.session.execute(select(Material.code).order_by(Material.code).limit(20))
            .scalars()
            .all()
        )
        out["lots"] = (
            db.session.execute(
                select(StockLot.id)
                .where(StockLot.classification != "restricted")
                .order_by(StockLot.id)
                .limit(200)
            )
            .scalars()
            .all()
        )  # the viewer reads them
        out["warnings"] = (
            db.session.execute(
                select(ReserveWarning.id).order_by(ReserveWarning.id.desc()).limit(50)
            )
            .scalars()
            .all()
        )
        out["regions"] = ["140100", "140200", "110100", "440100", "510100"]
    Path(args.output).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.output}: agency {agency_id}, {len(depots)} depots, {len(out['lots'])} lots")


if __name__ == "__main__":
    main()
