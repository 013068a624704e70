from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import User, UserSession


@receiver(user_logged_in)
def index_session(sender, request, user, **kwargs):
    key = request.session.session_key
    if key:
        UserSession.objects.get_or_create(session_key=key, defaults={"user": user})


@receiver(post_save, sender=User)
def end_sessions_of_disabled_user(sender, instance, update_fields=None, **kwargs):
    if not instance.is_active and (update_fields is None or "is_active" in update_fields):
        from .services import end_sessions

        end_sessions(instance)
