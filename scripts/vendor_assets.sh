#!/usr/bin/env bash
# Re-creates core/static/vendor/ from the npm registry with pinned versions, so that no page
# ever loads a script or stylesheet from another host. The result is committed; run this only
# to upgrade a version (edit the pins below), then commit the changed files.
set -euo pipefail
cd "$(dirname "$0")/.."
ECHARTS=6.1.0
LEAFLET=1.9.4
SWAGGER_UI=5.35.0
ECHARTS_MAPS=4.9.0   # the last ECharts that shipped province boundaries (map/json/province)

dest=core/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
( cd "$work" && npm pack --silent "echarts@$ECHARTS" "leaflet@$LEAFLET" "swagger-ui-dist@$SWAGGER_UI" >/dev/null )
( mkdir -p "$work/maps" && cd "$work/maps" && npm pack --silent "echarts@$ECHARTS_MAPS" >/dev/null && tar -xzf ./*.tgz )
for tgz in "$work"/*.tgz; do mkdir -p "${tgz%.tgz}" && tar -xzf "$tgz" -C "${tgz%.tgz}"; done

rm -rf "$dest" && mkdir -p "$dest/echarts/licenses" "$dest/leaflet/images" "$dest/swagger-ui"
# Each package's LICENSE and NOTICE travel with it (Apache-2.0 §4); NOTICE at the top names them.
cp "$work"/echarts-*/package/dist/echarts.min.js "$work"/echarts-*/package/LICENSE "$work"/echarts-*/package/NOTICE "$dest/echarts/"
cp "$work"/echarts-*/package/licenses/* "$dest/echarts/licenses/"
cp "$work"/leaflet-*/package/dist/leaflet.js "$work"/leaflet-*/package/dist/leaflet.css "$work"/leaflet-*/package/LICENSE "$dest/leaflet/"
cp "$work"/leaflet-*/package/dist/images/*.png "$dest/leaflet/images/"
for f in swagger-ui.css swagger-ui-bundle.js swagger-ui-standalone-preset.js LICENSE NOTICE \
         swagger-ui-bundle.js.LICENSE.txt swagger-ui-standalone-preset.js.LICENSE.txt; do
  cp "$work"/swagger-ui-dist-*/package/$f "$dest/swagger-ui/"
done
# Shanxi's 11 city polygons, decoded once to plain GeoJSON for Leaflet. Production deployments
# load the boundaries their agency is licensed to publish (审图号).
mkdir -p "$dest/geo"
python3 scripts/decode_echarts_map.py "$work/maps/package/map/json/province/shanxi.json" "$dest/geo/shanxi.geojson" \
  "decoded from npm echarts@$ECHARTS_MAPS map/json/province/shanxi.json; illustrative, not an approved map"
cat > "$dest/VERSIONS" <<VERS
echarts $ECHARTS
leaflet $LEAFLET
swagger-ui-dist $SWAGGER_UI
echarts $ECHARTS_MAPS (map/json/province/shanxi.json only, decoded to geo/shanxi.geojson)
VERS
( cd "$dest" && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum > SHA256SUMS )
echo "vendored into $dest:"; cat "$dest/VERSIONS"
