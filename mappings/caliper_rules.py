"""IMS Caliper 1.1 rule tables, as plain Python data for the validator.

Read off the Caliper Analytics 1.1 specification (Appendix A actions, Appendix B event types,
Appendix C entity types, Appendix E/F membership roles and statuses) and the v1p1 JSON-LD context.
Kept as literals so the package needs nothing at run time; `mappings.validator` turns them into
sets and dicts once, at import.

Spelling choices where the specification disagrees with itself: `MarkedAsUnread` (action list,
context, SDKs) rather than `MarkedAsUnRead`; `EnabledClosedCaptioning` /
`DisabledClosedCaptioning` (specification and SDKs) rather than the context's `...CloseCaptioning`.
"""

from __future__ import annotations

CONTEXT_V1P1 = "http://purl.imsglobal.org/ctx/caliper/v1p1"
DATA_VERSION_V1P1 = CONTEXT_V1P1

ENVELOPE_KEYS = ("sensor", "sendTime", "dataVersion", "data")

# Appendix A: the 64 actions of Caliper 1.1.
ACTIONS: tuple[str, ...] = (
    "Abandoned",
    "Activated",
    "Added",
    "Attached",
    "Bookmarked",
    "ChangedResolution",
    "ChangedSize",
    "ChangedSpeed",
    "ChangedVolume",
    "Classified",
    "ClosedPopout",
    "Commented",
    "Completed",
    "Created",
    "Deactivated",
    "Deleted",
    "Described",
    "DisabledClosedCaptioning",
    "Disliked",
    "EnabledClosedCaptioning",
    "Ended",
    "EnteredFullScreen",
    "ExitedFullScreen",
    "ForwardedTo",
    "Graded",
    "Hid",
    "Highlighted",
    "Identified",
    "JumpedTo",
    "Liked",
    "Linked",
    "LoggedIn",
    "LoggedOut",
    "MarkedAsRead",
    "MarkedAsUnread",
    "Modified",
    "Muted",
    "NavigatedTo",
    "OpenedPopout",
    "Paused",
    "Posted",
    "Questioned",
    "Ranked",
    "Recommended",
    "Removed",
    "Reset",
    "Restarted",
    "Resumed",
    "Retrieved",
    "Reviewed",
    "Rewound",
    "Searched",
    "Shared",
    "Showed",
    "Skipped",
    "Started",
    "Submitted",
    "Subscribed",
    "Tagged",
    "TimedOut",
    "Unmuted",
    "Unsubscribed",
    "Used",
    "Viewed",
)

# Appendix B. Per event type: allowed actions, deprecated (still valid in 1.1) actions, and the
# entity types allowed as actor / object / generated / target / referrer (subtypes accepted).
# "deprecated_event": the type itself is deprecated in 1.1 but still defined.
# "no_target": the specification marks `target` "Not Applicable" for the type.
# "action_constraints": actor/object types that depend on the action (SessionEvent).
_MEDIA_ACTIONS = """Started Ended Paused Resumed Restarted ForwardedTo JumpedTo ChangedResolution ChangedSize
ChangedSpeed ChangedVolume EnabledClosedCaptioning DisabledClosedCaptioning EnteredFullScreen
ExitedFullScreen Muted Unmuted OpenedPopout ClosedPopout"""

EVENT_TYPES: dict[str, dict] = {
    "Event": {
        "actions": " ".join(ACTIONS),
        "actors": "Agent",
        "objects": "Entity",
        "generated": "Entity",
        "targets": "Entity",
    },
    "AnnotationEvent": {
        "actions": "Bookmarked Highlighted Shared Tagged",
        "deprecated_actions": "Attached Classified Commented Described Disliked Identified Liked Linked "
        "Questioned Ranked Recommended Subscribed",
        "actors": "Person",
        "objects": "DigitalResource",
        "generated": "Annotation BookmarkAnnotation HighlightAnnotation SharedAnnotation TagAnnotation",
        "targets": "Frame",
    },
    "AssessmentEvent": {
        "actions": "Started Paused Resumed Restarted Reset Submitted",
        "actors": "Person",
        "objects": "Assessment",
        "generated": "Attempt",
        "targets": "Entity",
    },
    "AssessmentItemEvent": {
        "actions": "Started Skipped Completed",
        "deprecated_actions": "Reviewed Viewed",
        "actors": "Person",
        "objects": "AssessmentItem",
        # Appendix B lists the Response types; the Assessment profile (3.2) and the official
        # fixtures also generate an Attempt.
        "generated": "Attempt Response FillinBlankResponse MultipleChoiceResponse MultipleResponseResponse "
        "SelectTextResponse TrueFalseResponse",
        "targets": "Entity",
        "referrers": "AssessmentItem",
    },
    "AssignableEvent": {
        "actions": "Activated Deactivated Started Completed Submitted Reviewed",
        "deprecated_actions": "Abandoned Hid Showed",
        "actors": "Person",
        "objects": "AssignableDigitalResource",
        "generated": "Attempt",
        "targets": "Frame",
    },
    "ForumEvent": {
        "actions": "Subscribed Unsubscribed",
        "actors": "Person",
        "objects": "Forum",
        "generated": "Entity",
        "targets": "Entity",
    },
    "GradeEvent": {
        "actions": "Graded",
        "actors": "Agent",
        "objects": "Attempt",
        "generated": "Score",
        "no_target": True,
    },
    "MediaEvent": {
        "actions": _MEDIA_ACTIONS,
        "deprecated_actions": "Rewound",
        "actors": "Person",
        "objects": "AudioObject ImageObject MediaObject VideoObject",
        "generated": "Entity",
        "targets": "MediaLocation",
    },
    "MessageEvent": {
        "actions": "MarkedAsRead MarkedAsUnread Posted",
        "actors": "Person",
        "objects": "Message",
        "generated": "Entity",
        "targets": "Entity",
    },
    "NavigationEvent": {
        "actions": "NavigatedTo",
        "actors": "Person",
        "objects": "DigitalResource SoftwareApplication",
        "generated": "Entity",
        "targets": "Frame",
        "referrers": "DigitalResource SoftwareApplication",
        "extra_properties": "navigatedFrom",  # deprecated in 1.1, still accepted
    },
    "OutcomeEvent": {
        "deprecated_event": True,
        "actions": "Graded",
        "actors": "Agent",
        "objects": "Attempt",
        "generated": "Result",
        "no_target": True,
    },
    "ReadingEvent": {
        "deprecated_event": True,
        "actions": "NavigatedTo Searched Viewed",
        "actors": "Person",
        "objects": "DigitalResource",
        "generated": "Entity",
        "targets": "Frame",
    },
    "SessionEvent": {
        "actions": "LoggedIn LoggedOut TimedOut",
        "actors": "Person SoftwareApplication",
        "objects": "Session SoftwareApplication",
        "generated": "Entity",
        "targets": "DigitalResource",
        "referrers": "DigitalResource SoftwareApplication",
        "action_constraints": {
            "LoggedIn": ("Person", "SoftwareApplication"),
            "LoggedOut": ("Person", "SoftwareApplication"),
            "TimedOut": ("SoftwareApplication", "Session"),
        },
    },
    "ThreadEvent": {
        "actions": "MarkedAsRead MarkedAsUnread",
        "actors": "Person",
        "objects": "Thread",
        "generated": "Entity",
        "targets": "Entity",
    },
    "ToolUseEvent": {
        "actions": "Used",
        "actors": "Person",
        "objects": "SoftwareApplication",
        "generated": "Entity",
        "targets": "SoftwareApplication",
    },
    "ViewEvent": {
        "actions": "Viewed",
        "actors": "Person",
        "objects": "DigitalResource",
        "generated": "Entity",
        "targets": "Frame",
    },
}

# Properties every event may carry (spec 4.1); anything else custom belongs in `extensions`.
EVENT_PROPERTIES = (
    "@context id type actor action object eventTime target generated referrer edApp group membership "
    "session federatedSession extensions"
)
EVENT_REQUIRED = ("@context", "id", "type", "actor", "action", "object", "eventTime")

# Types of the optional event properties every event type shares (referrer overridable above).
EVENT_PROPERTY_TYPES = {
    "referrer": "Entity",
    "edApp": "SoftwareApplication",
    "group": "Organization",
    "membership": "Membership",
    "session": "Session",
    "federatedSession": "LtiSession",
    "navigatedFrom": "Entity",
}

# Appendix C: entity type -> direct supertypes (Assessment has two).
SUPERTYPES: dict[str, tuple[str, ...]] = {
    "Entity": (),
    "Agent": ("Entity",),
    "Person": ("Agent",),
    "SoftwareApplication": ("Agent",),
    "Organization": ("Agent",),
    "CourseOffering": ("Organization",),
    "CourseSection": ("CourseOffering",),
    "Group": ("Organization",),
    "Annotation": ("Entity",),
    "BookmarkAnnotation": ("Annotation",),
    "HighlightAnnotation": ("Annotation",),
    "SharedAnnotation": ("Annotation",),
    "TagAnnotation": ("Annotation",),
    "Attempt": ("Entity",),
    "LearningObjective": ("Entity",),
    "Membership": ("Entity",),
    "Response": ("Entity",),
    "FillinBlankResponse": ("Response",),
    "MultipleChoiceResponse": ("Response",),
    "MultipleResponseResponse": ("Response",),
    "SelectTextResponse": ("Response",),
    "TrueFalseResponse": ("Response",),
    "Result": ("Entity",),
    "Score": ("Entity",),
    "Session": ("Entity",),
    "LtiSession": ("Session",),
    "DigitalResource": ("Entity",),
    "AssignableDigitalResource": ("DigitalResource",),
    "AssessmentItem": ("AssignableDigitalResource",),
    "DigitalResourceCollection": ("DigitalResource",),
    "Assessment": ("DigitalResourceCollection", "AssignableDigitalResource"),
    "Forum": ("DigitalResourceCollection",),
    "Thread": ("DigitalResourceCollection",),
    "Chapter": ("DigitalResource",),
    "Document": ("DigitalResource",),
    "Frame": ("DigitalResource",),
    "MediaLocation": ("DigitalResource",),
    "MediaObject": ("DigitalResource",),
    "AudioObject": ("MediaObject",),
    "ImageObject": ("MediaObject",),
    "VideoObject": ("MediaObject",),
    "Message": ("DigitalResource",),
    "Page": ("DigitalResource",),
    "Reading": ("DigitalResource",),
    "WebPage": ("DigitalResource",),
    "EpubChapter": ("DigitalResource",),  # the four Epub types are deprecated in 1.1
    "EpubPart": ("DigitalResource",),
    "EpubSubChapter": ("DigitalResource",),
    "EpubVolume": ("DigitalResource",),
    "TextPositionSelector": (),  # a Selector, not an Entity
}

# Properties each entity type adds to those of its supertypes (Appendix C, with the JSON schema's
# deprecated `alignedLearningObjective` and `objectType`, still accepted in 1.1).
ENTITY_OWN_PROPERTIES: dict[str, str] = {
    "Entity": "@context id type name description dateCreated dateModified extensions",
    "SoftwareApplication": "version",
    "Organization": "members subOrganizationOf",
    "CourseOffering": "academicSession courseNumber",
    "CourseSection": "category",
    "Annotation": "annotated annotator",
    "BookmarkAnnotation": "bookmarkNotes",
    "HighlightAnnotation": "selection selectionText",
    "SharedAnnotation": "withAgents",
    "TagAnnotation": "tags",
    "Attempt": "assignable assignee count duration startedAtTime endedAtTime isPartOf",
    "Membership": "member organization roles status",
    "Response": "attempt duration startedAtTime endedAtTime",
    "FillinBlankResponse": "values",
    "MultipleChoiceResponse": "value",
    "MultipleResponseResponse": "values",
    "SelectTextResponse": "values",
    "TrueFalseResponse": "value",
    "Result": "attempt comment curveFactor curvedTotalScore extraCreditScore maxResultScore normalScore "
    "penaltyScore resultScore scoredBy totalScore",
    "Score": "attempt comment maxScore scoreGiven scoredBy",
    "Session": "user duration startedAtTime endedAtTime",
    "LtiSession": "messageParameters",
    "DigitalResource": "alignedLearningObjective creators datePublished isPartOf keywords learningObjectives "
    "mediaType objectType version",
    "AssignableDigitalResource": "dateToActivate dateToShow dateToStartOn dateToSubmit maxAttempts maxScore "
    "maxSubmits",
    "AssessmentItem": "isTimeDependent",
    "DigitalResourceCollection": "items",
    "Frame": "index",
    "MediaLocation": "currentTime",
    "MediaObject": "duration",
    "AudioObject": "muted volumeLevel volumeMax volumeMin",
    "Message": "attachments body replyTo",
    "TextPositionSelector": "type start end",
}

# Entity-valued properties and the type their values must have (subtypes accepted; an IRI string
# is always accepted instead of an object). A list value is checked item by item.
ENTITY_PROPERTY_TYPES: dict[str, str] = {
    "actor": "Agent",
    "annotated": "DigitalResource",
    "annotator": "Person",
    "assignable": "DigitalResource",
    "assignee": "Person",
    "attachments": "DigitalResource",
    "attempt": "Attempt",
    "creators": "Agent",
    "alignedLearningObjective": "LearningObjective",
    "learningObjectives": "LearningObjective",
    "isPartOf": "Entity",
    "items": "Entity",
    "member": "Person",
    "members": "Agent",
    "organization": "Organization",
    "replyTo": "Message",
    "scoredBy": "Agent",
    "selection": "TextPositionSelector",
    "subOrganizationOf": "Organization",
    "user": "Person",
    "withAgents": "Agent",
}

# Properties whose value is free-form JSON: not walked for Caliper types or property names.
FREE_FORM_PROPERTIES = ("extensions", "messageParameters", "@context")

# Date-time properties (ISO 8601, UTC, millisecond precision: YYYY-MM-DDTHH:mm:ss.SSSZ).
DATETIME_PROPERTIES = (
    "eventTime dateCreated dateModified datePublished dateToActivate dateToShow dateToStartOn dateToSubmit "
    "startedAtTime endedAtTime"
)
# Duration properties (ISO 8601 duration, e.g. PT50M30S).
DURATION_PROPERTIES = "duration currentTime"

# Appendix E: Membership roles (8 context roles and their sub-roles, as JSON-LD terms).
_SUBROLES = {
    "Administrator": "Administrator Developer ExternalDeveloper ExternalSupport ExternalSystemAdministrator "
    "Support SystemAdministrator",
    "ContentDeveloper": "ContentDeveloper ContentExpert ExternalContentExpert Librarian",
    "Instructor": "ExternalInstructor Grader GuestInstructor Instructor Lecturer PrimaryInstructor "
    "SecondaryInstructor TeachingAssistant TeachingAssistantGroup TeachingAssistantOffering "
    "TeachingAssistantSection TeachingAssistantTemplate",
    "Learner": "ExternalLearner GuestLearner Learner NonCreditLearner",
    "Manager": "AreaManager CourseCoordinator ExternalObserver Manager Observer",
    "Member": "Member",
    "Mentor": "Advisor Auditor ExternalAdvisor ExternalAuditor ExternalLearningFacilitator ExternalMentor "
    "ExternalReviewer ExternalTutor LearningFacilitator Mentor Reviewer Tutor",
    "Officer": "Chair Secretary Treasurer Vice-Chair",
}
ROLES: tuple[str, ...] = tuple(_SUBROLES) + tuple(
    f"{role}#{sub}" for role, subs in _SUBROLES.items() for sub in subs.split()
)

# Appendix F: Membership statuses.
STATUSES = ("Active", "Inactive")
