import django.utils.timezone
from django.db import migrations, models


def drop_single_column_indexes(apps, schema_editor):  # noqa: ANN001, ANN201
    """The indexes on received_at and read_at alone: the list index answers their queries.

    Dropped by name as found, not by altering the fields: SQLite would copy the whole table.
    """
    model = apps.get_model("inbox", "CaughtMessage")
    for column in ("received_at", "read_at"):
        names = schema_editor._constraint_names(model, [column], index=True)  # noqa: SLF001
        for name in names:
            schema_editor.execute(schema_editor._delete_index_sql(model, name))  # noqa: SLF001


def create_single_column_indexes(apps, schema_editor):  # noqa: ANN001, ANN201
    model = apps.get_model("inbox", "CaughtMessage")
    for column in ("received_at", "read_at"):
        schema_editor.execute(
            schema_editor._create_index_sql(model, fields=[model._meta.get_field(column)])  # noqa: SLF001
        )


def create_totals(apps, schema_editor):  # noqa: ANN001, ANN201
    from postroom.inbox import totals

    totals.ensure(schema_editor.connection)


def drop_totals(apps, schema_editor):  # noqa: ANN001, ANN201
    from postroom.inbox import totals

    totals.drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0005_inboxapi_token"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="caughtmessage",
            index=models.Index(
                fields=["received_at", "id", "has_attachments", "read_at"], name="inbox_caught_list"
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="caughtmessage",
                    name="received_at",
                    field=models.DateTimeField(default=django.utils.timezone.now),
                ),
                migrations.AlterField(
                    model_name="caughtmessage",
                    name="read_at",
                    field=models.DateTimeField(blank=True, null=True),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_single_column_indexes, create_single_column_indexes),
            ],
        ),
        # The catcher's quota reads the totals now, not a sum over this index.
        migrations.RemoveIndex(model_name="caughtmessage", name="inbox_caught_size"),
        migrations.CreateModel(
            name="CaughtTotals",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("messages", models.BigIntegerField(default=0)),
                ("unread", models.BigIntegerField(default=0)),
                ("bytes", models.BigIntegerField(default=0)),
            ],
            options={"verbose_name_plural": "caught totals"},
        ),
        # Triggers keep the totals row in step with the messages (postroom.inbox.totals).
        migrations.RunPython(create_totals, drop_totals, elidable=False),
    ]
