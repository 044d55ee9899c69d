"""Folium elements that call geo-service's own map script (``static/geo-service-map.js``).

Each element renders one call ``GeoServiceMap.<factory>(map, config, ...)`` with JSON that is
safe inside a ``<script>`` (see :func:`geo_service.maps.geojson.script_json`). Layers take part
in folium's layer control like any folium layer.
"""

from __future__ import annotations

from typing import Any

from branca.element import Element, MacroElement
from folium.map import Layer
from folium.template import Template

from geo_service.maps.geojson import script_json


class ScriptLayer(Layer):
    """A map layer made by ``GeoServiceMap.<factory>(map, data, config)``.

    Parameters
    ----------
    factory
        Name of the function of the map script (``zones``, ``hexes``, ``land``, ...).
    data
        The layer's data as script-safe JSON text (e.g. a GeoJSON FeatureCollection).
    config
        Styles and labels, serialised with :func:`script_json`.
    name
        Name in the layer control.
    show
        Whether the layer is on when the map opens.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = GeoServiceMap.{{ this.factory }}(
                {{ this._parent.get_name() }}, {{ this.data }}, {{ this.config }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        factory: str,
        data: str,
        config: dict[str, Any],
        *,
        name: str,
        show: bool = True,
        control: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "ScriptLayer"
        self.factory = factory
        self.data = data
        self.config = script_json(config)


class ScriptControl(MacroElement):
    """A control or behaviour made by ``GeoServiceMap.<factory>(map, config, refs)``.

    ``refs`` maps names to layers added before this control, so the script can reach them
    (e.g. the legend hides the section of a layer that is off).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            GeoServiceMap.{{ this.factory }}({{ this._parent.get_name() }}, {{ this.config }}, {
            {%- for key, layer in this.refs.items() %}
                {{ key|tojson }}: {{ layer.get_name() }},
            {%- endfor %}
            });
        {% endmacro %}
        """
    )

    def __init__(
        self, factory: str, config: dict[str, Any], refs: dict[str, Element] | None = None
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "ScriptControl"
        self.factory = factory
        self.config = script_json(config)
        self.refs = refs or {}


class PageScript(MacroElement):
    """``GeoServiceMap.page(config)``: wires the page around the map (the iframe snippet)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            GeoServiceMap.page({{ this.config }});
        {% endmacro %}
        """
    )

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "PageScript"
        self.config = script_json(config)
