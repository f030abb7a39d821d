// The data-quality trend chart; the series and the labels come in data-* attributes (no inline script: CSP).
(function () {
  var box = document.getElementById('quality-trend');
  if (!box || !window.echarts) { return; }
  var data = JSON.parse(box.dataset.series), labels = JSON.parse(box.dataset.labels);
  var keys = ['score', 'completeness', 'validity', 'freshness'];
  echarts.init(box).setOption({tooltip: {trigger: 'axis', renderMode: 'richText'}, legend: {data: keys.map(function (k) { return labels[k]; })},
    xAxis: {type: 'category', data: data.map(function (d) { return d.day; })}, yAxis: {type: 'value', min: 0, max: 1},
    series: keys.map(function (k) { return {name: labels[k], type: 'line', data: data.map(function (d) { return d[k]; })}; })});
})();
