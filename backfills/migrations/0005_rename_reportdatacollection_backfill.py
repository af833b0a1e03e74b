"""ReportDataCollection is called what it is: Backfill. No table or column changes.

The model keeps its table (report_data_collections) and the segments' foreign key keeps its
column (collection_id); only the names Django knows change. RenameModel renames the content
type; the permissions are renamed here too, so groups and users granted them keep them.
"""

import django.db.models.deletion
from django.db import migrations, models

ACTIONS = ("add", "change", "delete", "view")


def _rename_permissions(apps, old: str, new: str, verbose_name: str) -> None:
    Permission = apps.get_model("auth", "Permission")
    for action in ACTIONS:
        Permission.objects.filter(
            content_type__app_label="backfills", codename=f"{action}_{old}"
        ).update(codename=f"{action}_{new}", name=f"Can {action} {verbose_name}")


def forwards(apps, schema_editor):
    _rename_permissions(apps, "reportdatacollection", "backfill", "backfill")


def backwards(apps, schema_editor):
    _rename_permissions(apps, "backfill", "reportdatacollection", "backfill")


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("backfills", "0004_alter_reportdatacollection_options"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("reports", "0001_initial"),
    ]

    operations = [
        migrations.RenameModel(old_name="ReportDataCollection", new_name="Backfill"),
        migrations.AlterField(
            model_name="backfill",
            name="report",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="backfills",
                to="reports.reportdefinition",
            ),
        ),
        # The segment's foreign key is named backfill; its column stays collection_id, and so
        # do the index and the unique constraint on it (changed in the state only).
        migrations.AlterField(
            model_name="backfillsegment",
            name="collection",
            field=models.ForeignKey(
                db_column="collection_id",
                on_delete=django.db.models.deletion.CASCADE,
                related_name="segments",
                to="backfills.backfill",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="backfillsegment", name="segments_collection_window_uniq"
                ),
                migrations.RemoveIndex(
                    model_name="backfillsegment", name="idx_segments_collection_status"
                ),
                migrations.RenameField(
                    model_name="backfillsegment", old_name="collection", new_name="backfill"
                ),
                migrations.AlterModelOptions(
                    name="backfillsegment", options={"ordering": ["backfill", "sequence"]}
                ),
                migrations.AddIndex(
                    model_name="backfillsegment",
                    index=models.Index(
                        fields=["backfill", "status"], name="idx_segments_collection_status"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="backfillsegment",
                    constraint=models.UniqueConstraint(
                        fields=("backfill", "window_start"), name="segments_collection_window_uniq"
                    ),
                ),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
