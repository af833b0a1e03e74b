import factory
from django.contrib.auth import get_user_model

from instances.models import AccessRole, AmcAccount, AmcInstance, InstanceAccess


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"analyst{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@agency.example")
    password = factory.django.Password("correct horse battery staple")


class AmcAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AmcAccount

    name = factory.Sequence(lambda n: f"Advertiser {n}")
    account_id = factory.Sequence(lambda n: f"ENTITY{n:06d}")
    marketplace_id = "ATVPDKIKX0DER"
    lwa_refresh_token = factory.Sequence(lambda n: f"Atzr|refresh-token-{n}")


class AmcInstanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AmcInstance

    account = factory.SubFactory(AmcAccountFactory)
    instance_id = factory.Sequence(lambda n: f"amcinst{n:06d}")
    instance_name = factory.Sequence(lambda n: f"Client instance {n}")
    concurrency_cap = 10


class InstanceAccessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InstanceAccess

    user = factory.SubFactory(UserFactory)
    instance = factory.SubFactory(AmcInstanceFactory)
    role = AccessRole.ANALYST
