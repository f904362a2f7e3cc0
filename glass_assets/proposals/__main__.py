"""``python -m glass_assets.proposals list`` shows the current proposals; ``… accept <id> [<id> …]`` accepts them
(one campaign edit; exit status 2 with the reason if any cannot be accepted, the campaign file unchanged)."""

import argparse
import sys

from glass_assets.proposals.accept import ProposalError, accept_proposals
from glass_assets.settings import WAREHOUSE
from glass_assets.warehouse import Warehouse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m glass_assets.proposals", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="the current proposals, best first")
    listing.add_argument("--system")
    accept = commands.add_parser("accept", help="accept proposals by id")
    accept.add_argument("ids", nargs="+")
    args = parser.parse_args(argv)
    warehouse = Warehouse(WAREHOUSE.get())
    if args.command == "list":
        where = "WHERE system = ?" if args.system else ""
        rows = warehouse.query(
            f"SELECT system, rank, proposal_id, action, temperature, gain, cpu_hours, accept_via, note "
            f"FROM campaign_proposals {where} ORDER BY system, rank", [args.system] if args.system else None)
        for r in rows.iter_rows(named=True):
            print(f"{r['system']} #{r['rank']} {r['proposal_id']} {r['action']} T={r['temperature']:g} "
                  f"gain={r['gain']:.3g} cost={r['cpu_hours']:.3g} CPU-h [{r['accept_via']}] {r['note']}")
        return 0
    try:
        for item in accept_proposals(args.ids, warehouse, accepted_by="cli"):
            print(f"accepted {item.proposal_id} ({item.system}): {item.edit}")
            if "settings:" in item.edit:
                print("a campaign setting changes code versions: reload the code location (Dagster UI: Deployment → "
                      "Reload); the demo runner takes it up at its next start")
    except ProposalError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
