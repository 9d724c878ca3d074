(function () {
  var button = document.getElementById("share");
  var form = document.getElementById("check");
  if (!button || !form) { return; }
  if (!navigator.geolocation) { button.hidden = true; return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.elements.lat.value = pos.coords.latitude.toFixed(5);
      form.elements.lng.value = pos.coords.longitude.toFixed(5);
      form.submit();
    }, function () {
      button.disabled = false;
      document.getElementById("share-status").textContent = button.getAttribute("data-failed");
    }, { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 });
  });
})();
