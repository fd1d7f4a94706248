"""The organisation-wide directory: customers and accounts."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from portal import selectors, services
from portal.api import filters
from portal.api.base import ExternalIdCreateMixin, ImportMixin, PortalViewSet
from portal.api.permissions import (
    DirectoryEditorWrites,
)
from portal.api.serializers import (
    AccountSerializer,
    CustomerMergeSerializer,
    CustomerSerializer,
)
from portal.api.viewsets.common import DELETE_RESPONSES
from portal.validation import validation_messages


@extend_schema_view(
    create=extend_schema(
        responses={201: CustomerSerializer, 200: CustomerSerializer},
        description="Creates a customer (201); an existing `external_id` answers 200 with "
        "the existing customer, unchanged.",
    ),
    destroy=extend_schema(
        responses=DELETE_RESPONSES,
        description="Deletes the customer and their further addresses; their history is kept "
        "(`erase` removes their personal data from it).",
    ),
)
class CustomerViewSet(
    ExternalIdCreateMixin,
    ImportMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    PortalViewSet,
):
    """The organisation's customers: every member reads, agents of any team edit."""

    serializer_class = CustomerSerializer
    permission_classes = [IsAuthenticated, DirectoryEditorWrites]
    filterset_class = filters.CustomerFilter
    search_fields = ["name", "email", "account__name", "identities__handle"]
    ordering_fields = ["name", "email", "created_at", "updated_at"]
    import_kind = "customers"

    def get_queryset(self):
        return selectors.customer_list(user=self.request.user)

    def perform_create(self, serializer) -> None:
        customer = services.customer_create(actor=self.request.user, **serializer.validated_data)
        serializer.instance = selectors.customer_get(user=self.request.user, pk=customer.pk)

    def perform_update(self, serializer) -> None:
        fields = dict(serializer.validated_data)
        customer = services.customer_update(
            actor=self.request.user,
            customer=serializer.instance,
            other_emails=fields.pop("other_emails", None),
            identities=fields.pop("identities", None),
            **fields,
        )
        serializer.instance = selectors.customer_get(user=self.request.user, pk=customer.pk)

    def perform_destroy(self, instance) -> None:
        services.customer_delete(actor=self.request.user, customer=instance)

    @extend_schema(
        request=None,
        responses={200: CustomerSerializer},
        description="Erases the customer's personal data (the right to erasure): name, e-mail "
        "(replaced by a placeholder), further addresses, attributes and external id. The "
        "customer stays with their tier and account; erasing again is harmless.",
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def erase(self, request: Request, pk: str | None = None) -> Response:
        customer = services.customer_erase(actor=request.user, customer=self.get_object())
        customer = selectors.customer_get(user=request.user, pk=customer.pk)
        return Response(self.get_serializer(customer).data)

    @extend_schema(
        request=CustomerMergeSerializer,
        responses={200: CustomerSerializer, 400: OpenApiTypes.OBJECT},
        description="Merges this customer into the customer `into` (the same person known "
        "twice, such as by a forum handle and by e-mail): its addresses and handles move to "
        "`into`, whose empty fields it fills, and every app carries over what it holds (the "
        "feedback items move). This customer stays only as a record of the merge and leaves "
        "the lists. Answers with the customer merged into. Refused (400, under `into`) for "
        "the customer itself, a merged or an erased customer.",
    )
    @action(
        detail=True,
        methods=["post"],
        filter_backends=[],
        pagination_class=None,
        serializer_class=CustomerMergeSerializer,
    )
    def merge(self, request: Request, pk: str | None = None) -> Response:
        source = self.get_object()
        body = CustomerMergeSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        try:
            target = services.customers_merge(
                actor=request.user, source=source, target=body.validated_data["into"]
            )
        except DjangoValidationError as error:
            raise ValidationError({"into": validation_messages(error)}) from error
        target = selectors.customer_get(user=request.user, pk=target.pk)
        return Response(CustomerSerializer(target, context=self.get_serializer_context()).data)


@extend_schema_view(
    create=extend_schema(
        responses={201: AccountSerializer, 200: AccountSerializer},
        description="Creates an account (201); an existing `external_id` answers 200 with "
        "the existing account, unchanged.",
    ),
    destroy=extend_schema(
        responses=DELETE_RESPONSES,
        description="Deletes the account and its domains; refused (400) while customers "
        "belong to it.",
    ),
)
class AccountViewSet(
    ExternalIdCreateMixin,
    ImportMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    PortalViewSet,
):
    """The organisation's accounts: every member reads, agents of any team edit."""

    serializer_class = AccountSerializer
    permission_classes = [IsAuthenticated, DirectoryEditorWrites]
    filterset_class = filters.AccountFilter
    search_fields = ["name", "domains__domain"]
    ordering_fields = ["name", "mrr", "created_at"]
    import_kind = "accounts"

    def get_queryset(self):
        return selectors.account_list(user=self.request.user)

    def perform_create(self, serializer) -> None:
        account = services.account_create(actor=self.request.user, **serializer.validated_data)
        serializer.instance = selectors.account_get(user=self.request.user, pk=account.pk)

    def perform_update(self, serializer) -> None:
        fields = dict(serializer.validated_data)
        account = services.account_update(
            actor=self.request.user,
            account=serializer.instance,
            domains=fields.pop("domains", None),
            **fields,
        )
        serializer.instance = selectors.account_get(user=self.request.user, pk=account.pk)

    def perform_destroy(self, instance) -> None:
        services.account_delete(actor=self.request.user, account=instance)
