'use strict';
// At a laptop's width (under 1600 px) the admin's navigation starts folded, so the lists get
// the screen; its » button opens it and Django keeps that choice.
try {
    if (window.localStorage.getItem('django.admin.navSidebarIsOpen') === null && window.innerWidth < 1600) {
        window.localStorage.setItem('django.admin.navSidebarIsOpen', 'false');
    }
} catch (e) {
    // Storage refused (private mode): Django's default applies.
}
