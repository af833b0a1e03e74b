import pytest
from cryptography.fernet import Fernet
from django.db import connection

from instances.models import AmcAccount
from recomamp import crypto
from tests.factories.instances import AmcAccountFactory

pytestmark = pytest.mark.django_db

SECRET = "Atzr|IwEBIA-very-secret-refresh-token"


def raw_column(account, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM amc_accounts WHERE id = %s", [account.pk])
        return cursor.fetchone()[0]


def test_credentials_are_ciphertext_in_the_database():
    account = AmcAccountFactory(lwa_refresh_token=SECRET, lwa_client_secret="client-secret-123")
    for column, plaintext in [
        ("lwa_refresh_token", SECRET),
        ("lwa_client_secret", "client-secret-123"),
    ]:
        stored = raw_column(account, column)
        assert plaintext not in stored
        assert crypto.decrypt(stored) == plaintext
    assert AmcAccount.objects.get(pk=account.pk).lwa_refresh_token == SECRET


def test_a_rotated_key_still_reads_old_secrets_and_rotation_moves_them(settings):
    account = AmcAccountFactory(lwa_refresh_token=SECRET)
    old_ciphertext = raw_column(account, "lwa_refresh_token")
    new_key = Fernet.generate_key().decode()
    settings.RECOMAMP_FERNET_KEYS = [new_key, *settings.RECOMAMP_FERNET_KEYS]

    assert AmcAccount.objects.get(pk=account.pk).lwa_refresh_token == SECRET
    rotated = crypto.rotate(old_ciphertext)
    assert Fernet(new_key.encode()).decrypt(rotated.encode()).decode() == SECRET


def test_a_secret_unreadable_by_the_keys_fails_loudly(settings):
    account = AmcAccountFactory(lwa_refresh_token=SECRET)
    settings.RECOMAMP_FERNET_KEYS = [Fernet.generate_key().decode()]
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        AmcAccount.objects.get(pk=account.pk)
