"""List the dead-lettered commands, or replay one or all of them."""

from django.core.management.base import BaseCommand, CommandError

from ecommerce.transports import dead_letters
from ecommerce.transports.queues import QUEUES


class Command(BaseCommand):
    help = "Inspect and replay dead-lettered commands. Replay is safe: every step is idempotent."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "replay"])
        parser.add_argument("--queue", action="append", choices=list(QUEUES))
        parser.add_argument("--id", action="append", dest="ids", help="A task id to replay.")
        parser.add_argument("--all", action="store_true", help="Replay every dead letter.")

    def handle(self, *args, action, queue, ids, all, **options):
        if action == "list":
            letters = dead_letters.dead_letters(queue)
            for letter in letters:
                self.stdout.write(
                    f"{letter.queue}\t{letter.task_id}\t{letter.task}\t{letter.reason}"
                    f"\tdeaths={letter.deaths}\t{letter.kwargs}"
                )
            self.stdout.write(f"{len(letters)} dead letter(s)")
            return
        if not ids and not all:
            raise CommandError("replay needs --id TASK_ID (repeatable) or --all")
        count = dead_letters.replay(task_ids=None if all else set(ids), queues=queue)
        self.stdout.write(f"replayed {count} message(s)")
