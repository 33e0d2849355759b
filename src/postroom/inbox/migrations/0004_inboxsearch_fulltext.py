from django.db import migrations, models


def create_index(apps, schema_editor):  # noqa: ANN001, ANN201
    from postroom.inbox import fulltext

    fulltext.ensure(schema_editor.connection)


def drop_index(apps, schema_editor):  # noqa: ANN001, ANN201
    from postroom.inbox import fulltext

    fulltext.drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("inbox", "0003_size_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="caughtmessage",
            name="body_text",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="caughtmessage",
            name="read_at",
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        # SQLite FTS5 table with triggers, or a PostgreSQL tsvector column with a GIN index.
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
