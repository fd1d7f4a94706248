"""API tokens: obtained with a username and password, revoked by their owner or a superuser."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from portal import selectors, services
from portal.api.serializers import (
    DetailSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from portal.selectors import get_or_404
from portal.validation import ID_INVALID, MAX_ID, is_id, parse_id

INVALID_CREDENTIALS = "Unable to log in with that username and password."
NO_SUCH_USER_ID = "No active user has that id."


class TokenView(APIView):
    """Exchange a username and password for an API token (``Authorization: Token <key>``), or
    revoke one. A password change or reset revokes the person's token too."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    def get_authenticators(self) -> list:
        # Asking for a token authenticates with the password in the body alone: an old token or
        # a session (whose CSRF check would refuse a script) must not stand in its way.
        # Revoking one needs to know who asks. (The schema generator asks before any request.)
        if getattr(self.request, "method", None) == "POST":
            return []
        return super().get_authenticators()

    def get_permissions(self) -> list:
        if getattr(self.request, "method", None) == "POST":
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenSerializer, 400: DetailSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        credentials = TokenRequestSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=credentials.validated_data["username"],
            password=credentials.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise ValidationError({"detail": INVALID_CREDENTIALS})
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "user",
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                required=False,
                description="Whose token to revoke: a superuser may name anyone; without it, "
                "the caller's own.",
            )
        ],
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked, or there was no token to revoke."),
            400: OpenApiResponse(
                inline_serializer(
                    "TokenRevokeError",
                    {"user": serializers.ListField(child=serializers.CharField())},
                ),
                description="`user` is no id.",
            ),
            403: OpenApiResponse(
                DetailSerializer, description="Another person's token, not as a superuser."
            ),
            404: OpenApiResponse(DetailSerializer, description="No such user."),
        },
    )
    def delete(self, request: Request) -> Response:
        """Revoke the caller's token (``Authorization: Token`` or a session), or with
        ``?user=<id>`` a superuser revokes anyone's."""
        user = request.user
        raw = request.query_params.get("user")
        if raw is not None:
            if not is_id(raw):
                raise ValidationError({"user": [ID_INVALID]})
            user = get_or_404(
                selectors.user_lookup_list(user=request.user), NO_SUCH_USER_ID, pk=parse_id(raw)
            )
        services.api_token_revoke(actor=request.user, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
