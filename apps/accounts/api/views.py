"""Sign-up and sign-in: the only endpoints an anonymous client may write to."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import services
from apps.accounts.api.serializers import RegisterInput, RegisterOutput, TokenInput, TokenOutput
from ecommerce.api.errors import error_responses
from ecommerce.api.throttles import SignInFailureThrottle, SignInThrottle, SignUpThrottle


class RegisterApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [SignUpThrottle]

    @extend_schema(
        summary="Sign up; the answer carries the new user's token",
        request=RegisterInput,
        responses={201: RegisterOutput, **error_responses(400, 409, 415, 429)},
        auth=[],
        operation_id="auth_register",
    )
    def post(self, request: Request) -> Response:
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user, token = services.user_register(**data.validated_data)
        return Response(
            {"id": user.pk, "username": user.username, "token": token.key},
            status=status.HTTP_201_CREATED,
        )


class TokenApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [SignInThrottle, SignInFailureThrottle]

    @extend_schema(
        summary="Sign in: the user's token, for `Authorization: Token <token>`",
        request=TokenInput,
        responses={200: TokenOutput, **error_responses(400, 401, 415, 429)},
        auth=[],
        operation_id="auth_token",
    )
    def post(self, request: Request) -> Response:
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token = services.token_obtain(**data.validated_data)
        except services.InvalidCredentials:
            SignInFailureThrottle.record_failure(request, self)
            raise
        return Response({"token": token.key})
