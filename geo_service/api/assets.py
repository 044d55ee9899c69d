"""Routes: assets."""

from fastapi import APIRouter

router = APIRouter()
