"""Routes: ogc."""

from fastapi import APIRouter

router = APIRouter()
