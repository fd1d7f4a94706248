"""What the portal's viewsets share beyond ``portal.api.base``."""

from drf_spectacular.utils import OpenApiResponse

from portal.api.serializers import DetailSerializer

# A delete answers 204, or 400 naming what still depends on the object (portal.services.deletion).
DELETE_RESPONSES = {
    204: OpenApiResponse(description="Deleted, with what goes with it."),
    400: OpenApiResponse(DetailSerializer, description="Refused: something depends on it."),
}
