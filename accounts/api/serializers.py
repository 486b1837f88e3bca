"""Shapes of the auth and account endpoints; field names follow the spec's `users` columns."""

from rest_framework import serializers

from accounts.models import User


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name", "email", "role"]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name", "email", "role", "status_online", "created_at"]
        read_only_fields = ["id", "name", "email", "role", "created_at"]


class MeUpdateSerializer(serializers.Serializer):
    status_online = serializers.BooleanField()


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=191)
    # Bounded: every attempt is hashed with Argon2, whatever its length.
    password = serializers.CharField(max_length=1024, trim_whitespace=False)


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=2048)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class LoginResultSerializer(TokenPairSerializer):
    user = UserSerializer()
